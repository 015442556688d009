package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Result says what an update changed.
type Result struct {
	// Added and Updated count people whose directory record changed;
	// re-sending an unchanged record counts in neither.
	Added, Updated int
	// Removed counts people who were active and are now suspended or left.
	Removed int
	// Active is how many active people the directory held before.
	Active int
}

// Origin says where an update comes from: Source is recorded with each
// person (csv, ldap, scim) and By names who made it in the audit log.
type Origin struct {
	Source string
	By     store.DirectoryAuthor
}

// HeldError is returned when an update would remove more than the allowed
// share of active staff; nothing was written. An admin confirms it to apply.
type HeldError struct {
	Result
	MaxFraction float64
	// Window is set for a guard counted over time (SCIM): Removed counts
	// the removals within it, this one included.
	Window time.Duration
}

func (e *HeldError) Error() string {
	if e.Window > 0 {
		return fmt.Sprintf("held for confirmation: this removal would make %d of %d active staff (%.0f%%) removed over SCIM within %s, more than the %.0f%% limit (directory.max_removal_fraction); nothing was changed",
			e.Removed, e.Active, 100*float64(e.Removed)/float64(max(e.Active, 1)), WindowWords(e.Window), 100*e.MaxFraction)
	}
	return fmt.Sprintf("held for confirmation: this update would remove %d of %d active staff (%.0f%%), more than the %.0f%% limit (directory.max_removal_fraction); nothing was changed",
		e.Removed, e.Active, 100*float64(e.Removed)/float64(max(e.Active, 1)), 100*e.MaxFraction)
}

// WindowWords writes a window as config does: 24h, 90m, not 24h0m0s.
func WindowWords(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// Guard bounds how many people one update may remove without confirmation.
type Guard struct {
	// MaxFraction of active staff moved to suspended or left in one update.
	MaxFraction float64
	// MinRemovals: updates removing fewer people than this are never held,
	// so a small directory can still lose one leaver.
	MinRemovals int
}

// holds says whether removing removed of active people needs confirmation.
func (g Guard) holds(removed, active int) bool {
	return active > 0 && removed >= g.MinRemovals && float64(removed) > g.MaxFraction*float64(active)
}

// Apply writes entries from one origin into the directory in one
// transaction, which also journals everyone whose record changed and, if
// anyone did, writes one audit entry saying who made the change.
// Unless confirmed, it refuses — writing nothing — an update that would move
// more than the guard's fraction of active staff to suspended or left.
func Apply(ctx context.Context, st *store.Store, entries []policy.StaffEntry, from Origin, guard Guard, confirmed bool) (Result, error) {
	var r Result
	counts, err := st.StaffCounts(ctx)
	if err != nil {
		return r, err
	}
	r.Active = counts[string(policy.StatusActive)]
	records := make([]store.StaffRecord, 0, len(entries))
	for _, e := range entries {
		rec := store.StaffRecord{
			UserID: e.UserID, Name: e.Name, Role: e.Role, Team: e.Team, Registration: e.Registration,
			Status: string(e.Status), Source: from.Source,
		}
		prev, err := st.Staff(ctx, e.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			r.Added++
		case err != nil:
			return r, err
		default:
			if store.StaffChangeKind(&prev, rec) != "" {
				r.Updated++
			}
			if prev.Status == string(policy.StatusActive) && e.Status != policy.StatusActive {
				r.Removed++
			}
		}
		records = append(records, rec)
	}
	if !confirmed && guard.holds(r.Removed, r.Active) {
		return r, &HeldError{Result: r, MaxFraction: guard.MaxFraction}
	}
	changes, err := st.SaveStaff(ctx, records, from.By)
	if err != nil {
		return r, err
	}
	// What the write found is the truth; the count above only decided the hold.
	r.Added, r.Updated = 0, 0
	for _, c := range changes {
		if c.Kind == store.ChangeAdded {
			r.Added++
		} else {
			r.Updated++
		}
	}
	return r, nil
}
