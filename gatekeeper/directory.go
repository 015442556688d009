package gatekeeper

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Directory is the part of the store the gatekeeper reads: the trust's
// staff directory, as the appservice's directory sync keeps it.
type Directory interface {
	Staff(ctx context.Context, userID string) (store.StaffRecord, error)
	StaffCounts(ctx context.Context) (map[string]int, error)
	// HoldOf is someone's hold out of clinical rooms (a lost device).
	HoldOf(ctx context.Context, userID string) (store.Hold, error)
}

// inviteeFacts is what is known of an invitee (or a joiner): for this
// trust's own staff, their directory entry and any hold, when a directory
// is at hand.
func (g *Gatekeeper) inviteeFacts(ctx context.Context, invitee string) (policy.InviteeFacts, error) {
	f := policy.InviteeFacts{UserID: invitee}
	if g.s.Directory == nil || serverOf(invitee) != g.s.Rules.OwnServer {
		return f, nil
	}
	rec, err := g.s.Directory.Staff(ctx, invitee)
	switch {
	case errors.Is(err, store.ErrNotFound):
		counts, err := g.s.Directory.StaffCounts(ctx)
		if err != nil {
			return f, fmt.Errorf("count the staff directory: %w", err)
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		f.DirectoryEmpty = total == 0
	case err != nil:
		return f, err
	default:
		status, _ := policy.ParseStaffStatus(rec.Status)
		f.Entry = &policy.StaffEntry{UserID: rec.UserID, Role: rec.Role, Team: rec.Team, Registration: rec.Registration, Status: status}
	}
	f.DirectoryChecked = true
	switch h, err := g.s.Directory.HoldOf(ctx, invitee); {
	case err == nil:
		f.HeldReason = h.Reason
	case !errors.Is(err, store.ErrNotFound):
		return f, fmt.Errorf("read holds: %w", err)
	}
	return f, nil
}

// serverOf is the server part of a user ID ("" when it has none).
func serverOf(userID string) string {
	_, server, _ := strings.Cut(userID, ":")
	return server
}
