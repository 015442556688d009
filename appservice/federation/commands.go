package federation

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/policy"
)

var CommandFederation = commands.Def[*Federation]{
	CommandSpec: policy.CommandSpec{
		Name: "federation", Usage: "!policy federation", Place: policy.Anywhere, Needs: policy.IGAdmin,
		Summary: "IG admins: the federation's member trusts, their bots, the shared policy list and any rules " +
			"refused.",
	},
	Doc: "Shows the federation's policy list (`federation.policy_list`): the member trusts and their Caldicott bots, " +
		"when each bot was last heard from on the list, the rules in force (leavers and suspended staff each trust " +
		"has published, member-trust rules) and the latest rules refused (from someone who may not make them, about " +
		"another trust's staff, or malformed), which are never applied.",
	Run: (*Federation).cmdFederation,
}

// cmdFederation shows the federation as this trust sees it: the member
// trusts and their bots, when each bot was last heard from on the list,
// the rules in force and any refused.
func (f *Federation) cmdFederation(ctx context.Context, c *commands.Call) error {
	if !f.Enabled() {
		return f.Reply(ctx, c.Evt, "This trust takes part in no federation policy list (`federation.policy_list` is not set). Its member trusts are the servers in its config: "+strings.Join(f.Cfg.Federation.Servers, ", ")+".")
	}
	f.mu.RLock()
	counts := f.list.Counts()
	refused := f.list.Refused()
	heard := map[string]string{}
	for bot, at := range f.heard {
		heard[bot] = at.UTC().Format("2 Jan 15:04:05 MST")
	}
	room, loadErr := f.room, f.loadErr
	f.mu.RUnlock()

	var b strings.Builder
	fmt.Fprintf(&b, "Federation policy list %s (%s).\n", f.Cfg.Federation.PolicyList, orWord(string(room), "not joined yet"))
	if loadErr != "" {
		fmt.Fprintf(&b, "⚠ It cannot be read now (%s); the rules last read stay in force.\n", loadErr)
	}
	fmt.Fprintf(&b, "Member trusts: %s (this trust), %s.\n", f.Cfg.Homeserver.Domain, orWord(strings.Join(f.Trusts(), ", "), "no others"))
	b.WriteString("Their Caldicott bots, last heard from on the list:\n")
	bots := append([]string{f.BotID.String()}, f.otherBots()...)
	for _, bot := range bots {
		fmt.Fprintf(&b, "• %s — %s; %d rule(s) published by its server\n", bot, orWord(heard[bot], "not heard from since I started"), counts.BySenderServer[serverOf(bot)])
	}
	fmt.Fprintf(&b, "Rules in force: %d (%d user bans, %d member-trust rules).\n", counts.Rules, counts.ByKind["user"], counts.ByKind["server"])
	if counts.Refused == 0 {
		b.WriteString("No rules refused.")
	} else {
		fmt.Fprintf(&b, "Rules refused since I started: %d. The latest:\n", counts.Refused)
		for _, r := range refused[max(0, len(refused)-5):] {
			fmt.Fprintf(&b, "• from %s about %q: %s\n", r.Sender, r.Entity, r.Reason)
		}
	}
	return f.Reply(ctx, c.Evt, strings.TrimSpace(b.String()))
}

var CommandTrust = commands.Def[*Federation]{
	CommandSpec: policy.CommandSpec{
		Name: "trust", Usage: "!policy trust add|remove <server>",
		Summary: "Federation admins: add a trust's server to the federation, or remove one; every trust's clinical " +
			"rooms follow.",
		MinArgs: 2, MaxArgs: 2, Place: policy.Anywhere, Needs: policy.AnyMember,
	},
	Doc: "Only the federation's admins (`federation.admins`) may use it, and only in the federation's policy list " +
		"room: the rule their trust's Caldicott publishes cites the command, and every other trust's Caldicott reads " +
		"that command from its own homeserver and applies the rule only if a federation admin asked for exactly that " +
		"change (a bot's word alone counts for nothing). A trust listed in a Caldicott's own `federation.servers` " +
		"stays a member trust there until that trust changes its config. The change is published on the federation's " +
		"policy list (a member-trust rule, MSC4150's allow under its unstable name `org.matrix.mjolnir.allow`, or a " +
		"ban to remove); every trust's Caldicott then rewrites the server ACL of each of its clinical rooms within a " +
		"minute.",
	Run: (*Federation).cmdTrust,
}

// cmdTrust: one of the federation's admins adds a trust's server to the
// federation, or removes one; every trust's clinical rooms follow. The
// command is given in the list room, so that every trust's Caldicott can
// read it from its own homeserver: the rule our bot publishes cites it, and
// counts nowhere without it. One bot relays it: the admin's own trust's,
// or the list's host for an admin whose server has no Caldicott.
func (f *Federation) cmdTrust(ctx context.Context, c *commands.Call) error {
	if !f.Enabled() || f.Room() == "" {
		return f.Reply(ctx, c.Evt, "This trust is not connected to a federation policy list, so the member trusts are its config's `federation.servers`.")
	}
	inList := c.Evt.RoomID == f.Room()
	if inList && !f.relays(c.Evt.Sender) {
		return nil // another trust's Caldicott relays it
	}
	if !slices.Contains(f.Cfg.Federation.Admins, c.Evt.Sender.String()) {
		return f.Reply(ctx, c.Evt, "Only the federation's admins (`federation.admins`) may change which trusts belong to it.")
	}
	if !inList {
		return f.Reply(ctx, c.Evt, fmt.Sprintf("Give this command in the federation's policy list room (%s), not here: every trust's Caldicott reads it there from its own homeserver as proof that you asked for the change, and ignores a change without that proof.", f.Cfg.Federation.PolicyList))
	}
	if _, _, ok := policy.ParseTrustCommand(c.Evt.Content.AsMessage().Body); !ok {
		// Every trust reads the command itself as the proof, in this form.
		return f.Reply(ctx, c.Evt, "Write the command on one line, exactly as `!policy trust add <server>` or `!policy trust remove <server>`: every trust's Caldicott reads it as your request in that form.")
	}
	verb, server := strings.ToLower(c.Args[0]), c.Args[1]
	if verb != "add" && verb != "remove" {
		return f.Reply(ctx, c.Evt, fmt.Sprintf("%q: say `!policy trust add <server>` or `!policy trust remove <server>`.", c.Args[0]))
	}
	if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(server)); !ok || strings.ContainsAny(server, "*?") {
		return f.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a server name (write e.g. matrix.trust-c.nhs.uk).", server))
	}
	if server == f.Cfg.Homeserver.Domain && verb == "remove" {
		return f.Reply(ctx, c.Evt, "A trust cannot remove itself from the federation here.")
	}
	d := policy.PublishTrust(server, verb == "add", c.Evt.Sender.String(), c.Evt.ID.String())
	res, err := f.Exec.Execute(ctx, f.Room(), c.Evt.Sender.String(), d)
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return f.Reply(ctx, c.Evt, "I could not change the federation's list: "+strings.Join(res.Failures, " "))
	}
	what := map[string]string{"add": "added to", "remove": "removed from"}[verb]
	return f.Reply(ctx, c.Evt, fmt.Sprintf("%s is %s the federation's list. Every trust's Caldicott updates its clinical rooms' server ACLs within a minute.", server, what))
}

// relays reports whether our bot publishes what admin asks in the list
// room: the admin's own trust's bot does; the host's bot does for an admin
// on a server without a Caldicott of the federation.
func (f *Federation) relays(admin id.UserID) bool {
	server := admin.Homeserver()
	if server == f.Cfg.Homeserver.Domain {
		return true
	}
	return f.hostsList() && !f.configured(server)
}

func orWord(v, word string) string {
	if v == "" {
		return word
	}
	return v
}

func serverOf(user string) string {
	_, server, _ := strings.Cut(user, ":")
	return server
}
