package hardening

import (
	"context"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
)

// cmdRoomOption sets who may be in a clinical room (roles, teams) and
// whether eligible requesters are let in without an admin, by rewriting the
// room's org.caldicott.policy state event with the class kept.
func (s *Hardening) CmdRoomOption(ctx context.Context, c *commands.Call) error {
	f := c.Facts
	if f.Class != policy.Clinical {
		return s.Reply(ctx, c.Evt, "These options are for clinical rooms; classify the room first with `!policy classify clinical`.")
	}
	content := f.PolicyContent(f.Class)
	arg := strings.TrimSpace(strings.Join(c.Args, " "))
	list := func() []string {
		if strings.EqualFold(arg, "any") {
			return nil
		}
		var out []string
		for _, p := range strings.Split(arg, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	var done string
	switch c.Name {
	case "roles":
		content.AllowedRoles, content.FiltersBy = list(), c.Evt.Sender.String()
		done = "Roles allowed in this room: " + kit.OrWord(strings.Join(content.AllowedRoles, ", "), "any") + "."
	case "teams":
		content.AllowedTeams, content.FiltersBy = list(), c.Evt.Sender.String()
		done = "Teams allowed in this room: " + kit.OrWord(strings.Join(content.AllowedTeams, ", "), "any") + "."
	case "auto-approve":
		switch strings.ToLower(arg) {
		case "directory":
			content.AutoApprove = policy.AutoApproveDirectory
			done = "Requests from staff the directory shows eligible are now approved at once."
		case "off":
			content.AutoApprove = ""
			done = "Every request now waits for a room admin."
		default:
			return s.Reply(ctx, c.Evt, "Use `!policy auto-approve directory` or `!policy auto-approve off`.")
		}
	case "suspend-mode":
		switch strings.ToLower(arg) {
		case "mute":
			content.Suspend = policy.SuspendMute
			done = "Members whose identity is not verified will be muted here (they stay, but cannot post) instead of removed."
		case "remove":
			content.Suspend = ""
			done = "Members whose identity is not verified will be removed from this room until verified."
		default:
			return s.Reply(ctx, c.Evt, "Use `!policy suspend-mode remove` or `!policy suspend-mode mute`.")
		}
	}
	res, err := s.Exec.Execute(ctx, c.Evt.RoomID, c.Evt.Sender.String(), policy.SetRoomPolicy(content, policy.RuleRoomOption, c.Name+" "+arg, fmt.Sprintf("%s set to %q by %s", c.Name, arg, c.Evt.Sender)))
	if err != nil {
		return err
	}
	if res.DryRun {
		return s.Reply(ctx, c.Evt, "Dry run: I would change this room's policy, but I am configured to change nothing.")
	}
	if len(res.Failures) > 0 {
		return s.Reply(ctx, c.Evt, "I could not change the room's policy: "+strings.Join(res.Failures, " "))
	}
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "room_option", fmt.Sprintf("%s set to %q", c.Name, arg), nil); err != nil {
		return err
	}
	if err := s.Reply(ctx, c.Evt, done); err != nil {
		return err
	}
	// Members who no longer fit are removed, as on classification, except
	// those the filters cannot reach: the caller could not have removed
	// them, so they go back to the caller for someone with more power.
	f.AllowedRoles, f.AllowedTeams, f.AutoApprove, f.SuspendMode, f.FiltersBy = content.AllowedRoles, content.AllowedTeams, content.AutoApprove, content.Suspend, content.FiltersBy
	if _, err = s.Members.JudgeRoom(ctx, f, policy.OnClassify); err != nil {
		return err
	}
	if c.Name != "roles" && c.Name != "teams" {
		return nil
	}
	return s.filterLeft(ctx, c, f)
}

// filterLeft tells whoever set a filter which members it left in place
// because they out-rank them, and whom to ask about them.
func (s *Hardening) filterLeft(ctx context.Context, c *commands.Call, f policy.RoomFacts) error {
	left, err := s.Members.FilterLeft(ctx, f)
	if err != nil || len(left) == 0 {
		return err
	}
	members, err := s.Facts.Members(ctx, c.Evt.RoomID)
	if err != nil {
		return err
	}
	highest := f.PowerLevels.UserLevel(left[0])
	for _, u := range left {
		highest = max(highest, f.PowerLevels.UserLevel(u))
	}
	deciders := policy.Deciders(policy.ActRemove, highest, s.People(members), s.BotID.String(), f.PowerLevels)
	if err := s.Audit(ctx, c.Evt.Sender.String(), c.Evt.RoomID, "room_option_left", fmt.Sprintf("%d member(s) failing the new %s filter left in place: at or above the setter's power level", len(left), c.Name), map[string]any{"user_ids": left}); err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, policy.FilterLeftReply(left, f.PowerLevels.UserLevel(c.Evt.Sender.String()), deciders, f.PowerLevels))
}
