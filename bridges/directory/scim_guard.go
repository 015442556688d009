package directory

import (
	"context"
	"errors"
	"net/http"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// The guard's defaults, as config's: a SCIMUsers built without them is
// guarded all the same.
const (
	defaultMaxFraction   = 0.1
	defaultMinRemovals   = 5
	defaultRemovalWindow = 24 * time.Hour
)

func (u *SCIMUsers) guard() (Guard, time.Duration) {
	g, w := u.Guard, u.Window
	if g.MaxFraction <= 0 {
		g.MaxFraction = defaultMaxFraction
	}
	if g.MinRemovals < 1 {
		g.MinRemovals = defaultMinRemovals
	}
	if w <= 0 {
		w = defaultRemovalWindow
	}
	return g, w
}

// removalCheck is the mass-removal guard for a stream of single requests,
// run inside the write's transaction so concurrent requests are counted one
// after another. It counts SCIM's removals within the window (since an IG
// admin's confirmation, if later) against the active staff there were at
// its start, and refuses the one that would take the count over the limit.
func (u *SCIMUsers) removalCheck(ctx context.Context, removing []string) error {
	g, window := u.guard()
	since := u.Store.Now().Add(-window)
	confirmed, err := u.Store.RemovalsConfirmedAt(ctx, SCIMSource)
	if err != nil {
		return err
	}
	if confirmed.After(since) {
		since = confirmed
	}
	done, err := u.Store.RemovalsSince(ctx, SCIMSource, since)
	if err != nil {
		return err
	}
	counts, err := u.Store.StaffCounts(ctx)
	if err != nil {
		return err
	}
	// Those removed in the window were active at its start.
	r := Result{Removed: done + len(removing), Active: counts[string(policy.StatusActive)] + done}
	if g.holds(r.Removed, r.Active) {
		return &HeldError{Result: r, MaxFraction: g.MaxFraction, Window: window}
	}
	return nil
}

// refuseRemoval keeps and audits a removal the guard refused, tells Held
// of the first refusal of a hold, and answers the identity provider with
// what happened and what unblocks it. The person stays as they were until
// an IG admin confirms.
func (u *SCIMUsers) refuseRemoval(r *http.Request, rec store.StaffRecord, held *HeldError) error {
	userID := rec.UserID
	_, window := u.guard()
	first, err := u.Store.HoldRemoval(r.Context(), SCIMSource, store.HeldRemoval{UserID: userID, Status: rec.Status}, window, u.actor(), held.Error())
	if err != nil {
		return err
	}
	u.Log.Warn().Str("user_id", userID).Int("removed", held.Removed).Int("active", held.Active).Bool("first", first).Msg("SCIM removal held for confirmation")
	if first && u.Held != nil {
		u.Held(userID, held)
	}
	return scimerrors.ScimError{Status: http.StatusForbidden,
		Detail: "Caldicott " + held.Error() + ". The trust's IG team has been told; the removal is applied if an IG admin confirms it (`!policy directory confirm`), or send it again once the window has passed."}
}

// safe passes SCIM errors (what was wrong with the request) to the caller
// as they are, and replaces any other error, whose text may come from the
// database, with a generic 500; the error itself is logged here.
func (u *SCIMUsers) safe(r *http.Request, err error) error {
	var scimErr scimerrors.ScimError
	if err == nil || errors.As(err, &scimErr) {
		return err
	}
	u.Log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("SCIM request failed")
	return scimerrors.ScimError{Status: http.StatusInternalServerError,
		Detail: "Caldicott could not complete this request because of an internal error, which it has logged; send the request again later."}
}
