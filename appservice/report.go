package appservice

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// cmdReport summarises the trust's rooms and people for IG admins.
func (s *Service) cmdReport(ctx context.Context, c *commandContext) error {
	rooms, err := s.store.RoomPolicies(ctx)
	if err != nil {
		return transientError{err}
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
	fmt.Fprintf(&b, "Caldicott report for %s\n", s.cfg.Trust.Name)
	fmt.Fprintf(&b, "Rooms: %d clinical, %d operational, %d social.\n", byClass["clinical"], byClass["operational"], byClass["social"])
	if len(bad) == 0 {
		b.WriteString("Every classified room is compliant.\n")
	} else {
		fmt.Fprintf(&b, "%d room(s) NOT compliant:\n%s\n", len(bad), strings.Join(bad, "\n"))
	}
	holds, err := s.store.Holds(ctx)
	if err != nil {
		return transientError{err}
	}
	if len(holds) > 0 {
		names := make([]string, len(holds))
		for i, h := range holds {
			names[i] = fmt.Sprintf("%s (%s, since %s)", h.UserID, h.Reason, h.Since.UTC().Format("2006-01-02"))
		}
		fmt.Fprintf(&b, "Held out of clinical rooms: %s.\n", strings.Join(names, "; "))
	}
	counts, err := s.store.StaffCounts(ctx)
	if err != nil {
		return transientError{err}
	}
	statuses := make([]string, 0, len(counts))
	for st, n := range counts {
		statuses = append(statuses, fmt.Sprintf("%d %s", n, st))
	}
	sort.Strings(statuses)
	fmt.Fprintf(&b, "Staff directory: %s.", orWord(strings.Join(statuses, ", "), "empty"))
	return s.reply(ctx, c.evt, b.String())
}
