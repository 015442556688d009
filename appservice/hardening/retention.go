package hardening

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
)

var CommandRetention = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "retention", Usage: "!policy retention 30d|12h|default",
		Summary: "Room admins: how long this room keeps messages, within the trust's limits for its class.",
		MinArgs: 1, MaxArgs: 1, Place: policy.InRoom, Needs: policy.RoomPolicyPower,
	},
	Doc: "Sets the room's retention period in the standard `m.room.retention` state event (`max_lifetime`), between " +
		"the trust's minimum and maximum for the room's class (`retention` in the config); `default` makes the room " +
		"follow its class's default from then on (the event carries `org.caldicott.class_default`, so a later change " +
		"of the default in the config applies to the room). Messages older than the period are deleted (redacted, on " +
		"every device) by the sweep, the newest included, unless the room is on legal hold or the message awaits the " +
		"patient record. `!policy status` shows the period in force and how deletion stands.",
	Run: (*Hardening).cmdRetention,
}

// cmdRetention sets how long the room keeps messages, within the trust's
// bounds for its class, in the standard m.room.retention state event.
func (s *Hardening) cmdRetention(ctx context.Context, c *commands.Call) error {
	arg := strings.ToLower(c.Args[0])
	var d policy.Decision
	var refusal string
	if arg == "default" {
		d, refusal = policy.SetRetention(c.Facts.Class, 0, true, s.RetentionRules())
	} else {
		period, err := config.ParseDuration(arg)
		if err != nil {
			return s.Reply(ctx, c.Evt, fmt.Sprintf("%q is not a period. Write it in days or hours, e.g. `!policy retention 30d` or `!policy retention 12h`, or `!policy retention default`.", c.Args[0]))
		}
		d, refusal = policy.SetRetention(c.Facts.Class, period, false, s.RetentionRules())
	}
	if refusal != "" {
		return s.Reply(ctx, c.Evt, refusal)
	}
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), d)
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.Reply(ctx, c.Evt, "Dry run: I would change this room's retention, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, "I could not change the room's retention: "+strings.Join(res.Failures, " "))
	}
	return s.Reply(ctx, c.Evt, fmt.Sprintf("This room's retention is now: %s; older ones are deleted.", d.Actions[0].Text))
}

// retentionLine is the room's retention for `!policy status`.
func (s *Hardening) retentionLine(ctx context.Context, f policy.RoomFacts) string {
	r := policy.EffectiveRetention(f.Class, f.Retention, s.RetentionRules())
	if r.MaxLifetime == 0 {
		return ""
	}
	line := fmt.Sprintf("Retention: %s", policy.FormatDays(r.MaxLifetime))
	if !r.FromRoom {
		line += fmt.Sprintf(" (the %s rooms' default)", f.Class)
	}
	line += "."
	if r.MinLifetime > 0 {
		line += fmt.Sprintf(" Nothing younger than %s is deleted.", policy.FormatDays(r.MinLifetime))
	}
	if r.Problem != "" {
		line += "\n⚠ " + r.Problem
	}
	if s.Deletion != nil {
		line += "\n" + s.Deletion.DeletionStatus(ctx, id.RoomID(f.RoomID))
	}
	if s.Records != nil {
		if rec := s.Records.StatusLine(ctx, id.RoomID(f.RoomID)); rec != "" {
			line += "\n" + rec
		}
	}
	return line
}
