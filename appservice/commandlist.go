package appservice

import (
	"context"
	"slices"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/federation"
	"github.com/caldicott/caldicott/appservice/hardening"
	"github.com/caldicott/caldicott/appservice/membership"
	"github.com/caldicott/caldicott/appservice/records"
	"github.com/caldicott/caldicott/appservice/retention"
	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/policy"
)

// commandList is every command the bot understands, in help order: the one
// registry. `!policy help` and docs/commands.md are made from it. Each
// command is defined beside its handler, in the capability that runs it;
// this list only assembles them.
func (s *Service) commandList() []commands.Command {
	return slices.Concat(
		commands.Bind(s, commandHelp),
		commands.Bind(s.hardening, hardening.CommandStatus, hardening.CommandClassify, hardening.CommandNewRoom,
			hardening.CommandRoles, hardening.CommandTeams, hardening.CommandAutoApprove, hardening.CommandSuspendMode,
			hardening.CommandRetention, hardening.CommandUpgrade),
		commands.Bind(s.records, records.CommandRecord),
		commands.Bind(s.retention, retention.CommandHold),
		commands.Bind(s.membership, membership.CommandReview, membership.CommandReviewInterval, membership.CommandRemove,
			membership.CommandRequest, membership.CommandApprove, membership.CommandDeny, membership.CommandDirectory,
			membership.CommandLostDevice, membership.CommandRelease, membership.CommandReport),
		commands.Bind(s.verification, verification.CommandVerification, verification.CommandVerify,
			verification.CommandAttest, verification.CommandTrustKey),
		commands.Bind(s.membership, membership.CommandLeaver),
		commands.Bind(s.federation, federation.CommandFederation, federation.CommandTrust),
		commands.Bind(s.hardening, hardening.CommandConfirmDowngrade, hardening.CommandRefuseDowngrade),
	)
}

var commandHelp = commands.Def[*Service]{
	CommandSpec: policy.CommandSpec{
		Name: "help", Usage: "!policy help", MaxArgs: 1, Place: policy.Anywhere, Needs: policy.AnyMember,
		Summary: "List the commands.",
	},
	Doc: "Lists the commands. A bare `!policy` does the same.",
	Run: (*Service).cmdHelp,
}

func (s *Service) cmdHelp(ctx context.Context, c *commandContext) error {
	return s.Reply(ctx, c.Evt, s.commands.Help())
}
