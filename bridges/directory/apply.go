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
	// Removed counts the update's removals and the source's earlier ones
	// within the window; Active, the active staff before them all.
	Result
	MaxFraction float64
	// Earlier of Removed were made by Source within Window before this update.
	Earlier int
	Source  string
	Window  time.Duration
}

func (e *HeldError) Error() string {
	share := 100 * float64(e.Removed) / float64(max(e.Active, 1))
	if e.Earlier > 0 {
		return fmt.Sprintf("held for confirmation: with this update, %d of %d active staff (%.0f%%) would have been removed %s within %s (%d before it), more than the %.0f%% limit (directory.max_removal_fraction); nothing was changed",
			e.Removed, e.Active, share, sourceWords(e.Source), WindowWords(e.Window), e.Earlier, 100*e.MaxFraction)
	}
	return fmt.Sprintf("held for confirmation: this update would remove %d of %d active staff (%.0f%%), more than the %.0f%% limit (directory.max_removal_fraction); nothing was changed",
		e.Removed, e.Active, share, 100*e.MaxFraction)
}

func sourceWords(source string) string {
	switch source {
	case SCIMSource:
		return "over SCIM"
	case "ldap":
		return "by LDAP syncs"
	case "csv":
		return "by CSV imports"
	}
	return "by " + source
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

// Guard bounds how many people may be removed without confirmation.
type Guard struct {
	// MaxFraction of active staff moved to suspended or left.
	MaxFraction float64
	// MinRemovals: fewer removals than this are never held, so a small
	// directory can still lose one leaver.
	MinRemovals int
	// Window, when set, counts the source's removals over this much time
	// before an update (since an admin's last confirmation, if later) with
	// the update's own, so many small updates are held as one large one
	// would be (directory.removal_window); zero counts one update alone.
	Window time.Duration
}

// holds says whether removing removed of active people needs confirmation.
func (g Guard) holds(removed, active int) bool {
	return active > 0 && removed >= g.MinRemovals && float64(removed) > g.MaxFraction*float64(active)
}

// check is the guard for a source's writes. It runs inside the write's
// transaction, so writes from several requests or processes are counted one
// after another and none slips past the limit between count and write.
func (g Guard) check(st *store.Store, source string) store.RemovalCheck {
	return func(ctx context.Context, removing []string) error {
		earlier := 0
		if g.Window > 0 {
			since := st.Now().Add(-g.Window)
			confirmed, err := st.RemovalsConfirmedAt(ctx, source)
			if err != nil {
				return err
			}
			if confirmed.After(since) {
				since = confirmed
			}
			if earlier, err = st.RemovalsSince(ctx, source, since); err != nil {
				return err
			}
		}
		counts, err := st.StaffCounts(ctx)
		if err != nil {
			return err
		}
		// Those removed within the window were active at its start.
		r := Result{Removed: earlier + len(removing), Active: counts[string(policy.StatusActive)] + earlier}
		if g.holds(r.Removed, r.Active) {
			return &HeldError{Result: r, MaxFraction: g.MaxFraction, Earlier: earlier, Source: source, Window: g.Window}
		}
		return nil
	}
}

// Apply writes entries from one origin into the directory in one
// transaction, which also journals everyone whose record changed and, if
// anyone did, writes one audit entry saying who made the change.
// Unless confirmed, it refuses — writing nothing — an update that would move
// more than the guard's fraction of active staff to suspended or left, its
// own removals counted with the source's earlier ones within the guard's
// window. The comparison with what is stored is made in that transaction,
// for everyone at once, and only records that differ are written.
func Apply(ctx context.Context, st *store.Store, entries []policy.StaffEntry, from Origin, guard Guard, confirmed bool) (Result, error) {
	var r Result
	counts, err := st.StaffCounts(ctx)
	if err != nil {
		return r, err
	}
	r.Active = counts[string(policy.StatusActive)]
	records := make([]store.StaffRecord, len(entries))
	for i, e := range entries {
		records[i] = store.StaffRecord{
			UserID: e.UserID, Name: e.Name, Role: e.Role, Team: e.Team, Registration: e.Registration,
			Status: string(e.Status), Source: from.Source,
		}
	}
	saved, err := st.SaveStaffGuarded(ctx, records, from.By, guard.check(st, from.Source), confirmed)
	if err != nil {
		var held *HeldError
		if errors.As(err, &held) {
			return r, held
		}
		return r, err
	}
	r.Removed = len(saved.Removed)
	for _, c := range saved.Changes {
		if c.Kind == store.ChangeAdded {
			r.Added++
		} else {
			r.Updated++
		}
	}
	return r, nil
}
