package membership

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

var CommandReport = commands.Def[*Membership]{
	CommandSpec: policy.CommandSpec{
		Name: "report", Usage: "!policy report", Place: policy.InManagement, Needs: policy.IGAdmin,
		Summary: "IG admins: rooms by class, non-compliant rooms, waiting requests, held people and the directory.",
	},
	Doc: "Rooms by class, rooms that are not compliant and why, people held out, and the directory's counts.",
	Run: (*Membership).cmdReport,
}

// cmdReport summarises the trust's rooms and people for IG admins.
func (s *Membership) cmdReport(ctx context.Context, c *commands.Call) error {
	rooms, err := s.Store.RoomPolicies(ctx)
	if err != nil {
		return err
	}
	byClass := map[string]int{}
	var bad []string
	for _, r := range rooms {
		byClass[r.Class]++
		if !r.Compliant {
			bad = append(bad, fmt.Sprintf("• %s (%s): %s", r.RoomID, r.Class, strings.Join(r.Problems, " ")))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Caldicott report for %s\n", s.Cfg.Trust.Name)
	fmt.Fprintf(&b, "Rooms: %d clinical, %d operational, %d social.\n", byClass["clinical"], byClass["operational"], byClass["social"])
	if len(bad) == 0 {
		b.WriteString("Every classified room is compliant.\n")
	} else {
		fmt.Fprintf(&b, "%d room(s) NOT compliant:\n%s\n", len(bad), strings.Join(bad, "\n"))
	}
	reviews, err := s.Store.ActiveReviews(ctx, s.Now())
	if err != nil {
		return err
	}
	var overdue []string
	for _, r := range reviews {
		switch {
		case r.Escalated:
			overdue = append(overdue, fmt.Sprintf("• %s: review open since %s, escalated", r.RoomID, r.Started.UTC().Format("2006-01-02")))
		case !r.Started.IsZero():
			overdue = append(overdue, fmt.Sprintf("• %s: review open since %s", r.RoomID, r.Started.UTC().Format("2006-01-02")))
		default:
			overdue = append(overdue, fmt.Sprintf("• %s: review due since %s", r.RoomID, r.NextDue.UTC().Format("2006-01-02")))
		}
	}
	if len(overdue) > 0 {
		fmt.Fprintf(&b, "Membership reviews waiting:\n%s\n", strings.Join(overdue, "\n"))
	} else {
		b.WriteString("No membership review is waiting.\n")
	}
	if odd, err := s.membersOutsideDirectory(ctx, rooms); err != nil {
		return err
	} else if len(odd) > 0 {
		fmt.Fprintf(&b, "Members of clinical rooms the directory does not vouch for:\n%s\n", strings.Join(odd, "\n"))
	}
	holds, err := s.Store.Holds(ctx)
	if err != nil {
		return err
	}
	if len(holds) > 0 {
		names := make([]string, len(holds))
		for i, h := range holds {
			names[i] = fmt.Sprintf("%s (%s, since %s)", h.UserID, h.Reason, h.Since.UTC().Format("2006-01-02"))
		}
		fmt.Fprintf(&b, "Held out of clinical rooms: %s.\n", strings.Join(names, "; "))
	}
	counts, err := s.Store.StaffCounts(ctx)
	if err != nil {
		return err
	}
	statuses := make([]string, 0, len(counts))
	for st, n := range counts {
		statuses = append(statuses, fmt.Sprintf("%d %s", n, st))
	}
	sort.Strings(statuses)
	fmt.Fprintf(&b, "Staff directory: %s.", kit.OrWord(strings.Join(statuses, ", "), "empty"))
	return s.Reply(ctx, c.Evt, b.String())
}

// membersOutsideDirectory lists own-trust members of clinical rooms whom the
// directory does not show as active (missing, suspended or left): people the
// periodic sweep keeps but an IG admin should look at.
func (s *Membership) membersOutsideDirectory(ctx context.Context, rooms []store.RoomPolicy) ([]string, error) {
	var out []string
	for _, r := range rooms {
		if r.Class != string(policy.Clinical) {
			continue
		}
		members, err := s.Facts.Members(ctx, id.RoomID(r.RoomID))
		if err != nil {
			continue // the bot may have left; the room shows as non-compliant elsewhere
		}
		ids := make([]string, 0, len(members))
		for uid := range members {
			ids = append(ids, uid)
		}
		sort.Strings(ids)
		for _, uid := range ids {
			if uid == s.BotID.String() || id.UserID(uid).Homeserver() != s.Cfg.Homeserver.Domain {
				continue
			}
			entry, _, err := s.StaffEntry(ctx, uid)
			if err != nil {
				return nil, err
			}
			switch {
			case entry == nil:
				out = append(out, fmt.Sprintf("• %s in %s: not in the staff directory", uid, r.RoomID))
			case entry.Status != policy.StatusActive:
				out = append(out, fmt.Sprintf("• %s in %s: %s in the staff directory", uid, r.RoomID, entry.Status))
			}
		}
	}
	return out, nil
}
