package directory

import (
	"context"
	"errors"
	"net/http"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/caldicott/caldicott/store"
)

// The guard's defaults, as config's: a SCIMUsers built without them is
// guarded all the same.
const (
	defaultMaxFraction   = 0.1
	defaultMinRemovals   = 5
	defaultRemovalWindow = 24 * time.Hour
)

// guard is the SCIM guard, never without a window: one request is one person.
func (u *SCIMUsers) guard() Guard {
	g := u.Guard
	if g.MaxFraction <= 0 {
		g.MaxFraction = defaultMaxFraction
	}
	if g.MinRemovals < 1 {
		g.MinRemovals = defaultMinRemovals
	}
	if g.Window <= 0 {
		g.Window = defaultRemovalWindow
	}
	return g
}

// removalCheck is the mass-removal guard for a stream of single requests:
// SCIM's removals within the window (since an IG admin's confirmation, if
// later) are counted with this one, and the one that would take them over
// the limit is refused.
func (u *SCIMUsers) removalCheck(ctx context.Context, removing []string) error {
	return u.guard().check(u.Store, SCIMSource)(ctx, removing)
}

// refuseRemoval keeps and audits a removal the guard refused, tells Held
// of the first refusal of a hold, and answers the identity provider with
// what happened and what unblocks it. The person stays as they were until
// an IG admin confirms.
func (u *SCIMUsers) refuseRemoval(r *http.Request, rec store.StaffRecord, held *HeldError) error {
	userID := rec.UserID
	first, err := u.Store.HoldRemoval(r.Context(), SCIMSource, store.HeldRemoval{UserID: userID, Status: rec.Status}, u.guard().Window, u.actor(), held.Error())
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
