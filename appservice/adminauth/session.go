package adminauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// Audit actions of sign-in and sessions (actor: the person's Matrix ID).
const (
	ActionCodeRequested  = "admin_signin.code_requested"
	ActionSignedIn       = "admin_signin.signed_in"
	ActionSignInFailed   = "admin_signin.failed"
	ActionSignedOut      = "admin_signin.signed_out"
	ActionSessionExpired = "admin_signin.expired"
	// ActionSessionEnded: a session ended because its person is no longer
	// one of the trust's IG admins.
	ActionSessionEnded = "admin_signin.ended"
	ActionCSRFRefused  = "admin_web.csrf_refused"
)

// CSRFField is the hidden form field (or X-CSRF-Token header) carrying
// the CSRF token.
const CSRFField = "csrf"

// touchEvery: a session's activity is written at most this often.
const touchEvery = time.Minute

type sessionKey struct{}

// session is a signed-in request's session.
type session struct {
	user string
	csrf string
}

// Who is the signed-in IG admin (set by RequireSession).
func Who(ctx context.Context) (mxid string, ok bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s.user, ok
}

// CSRFToken is the token a form of this session carries in its hidden
// CSRFField; "" outside RequireSession.
func CSRFToken(r *http.Request) string {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s.csrf
}

// RequireSession lets a page request in with a live session (else a GET
// is sent to sign in, anything else gets 401), and refuses, with 403 and
// an audit entry, any unsafe method (POST, PUT, PATCH, DELETE) whose CSRF
// token is missing or wrong. Who and CSRFToken then answer.
func (a *Auth) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.liveSession(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, signInPath, http.StatusSeeOther)
				return
			}
			a.page(w, http.StatusUnauthorized, pageMessage{Title: "Signed out", Text: "Your session has ended. Sign in again."})
			return
		}
		if !safeMethod(r.Method) && !a.csrfOK(r, s.csrf) {
			a.refuseCSRF(w, r, s.user)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// liveSession is the request's session, if its cookie names one that
// has not ended, idled out or passed its absolute end. One found expired
// is ended and audited, once.
func (a *Auth) liveSession(r *http.Request) (session, bool) {
	secret := a.cookieValue(r, sessionCookie)
	if secret == "" {
		return session{}, false
	}
	ctx, hash := r.Context(), hashOf("session", secret)
	row, err := a.st.AdminSessionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return session{}, false
	}
	if err != nil {
		a.log.Error().Err(err).Msg("Could not read admin sessions")
		return session{}, false
	}
	if !row.EndedAt.IsZero() {
		return session{}, false
	}
	now := a.now()
	if !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) >= a.cfg.SignIn.SessionIdle.Duration {
		if ended, err := a.st.EndAdminSession(ctx, hash); err == nil && ended {
			a.audit(ctx, row.UserID, ActionSessionExpired, "admin session expired", map[string]any{"signed_in_at": formatTime(row.CreatedAt)})
		}
		return session{}, false
	}
	// Checked on every request (policy over the config, no I/O): someone
	// taken off trust.ig_admins is out at once, not when the session ends.
	if !a.mayAdminister(id.UserID(row.UserID)) {
		if ended, err := a.st.EndAdminSession(ctx, hash); err == nil && ended {
			a.audit(ctx, row.UserID, ActionSessionEnded, "admin session ended: no longer one of the trust's IG admins", map[string]any{"signed_in_at": formatTime(row.CreatedAt)})
		}
		return session{}, false
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := a.st.TouchAdminSession(ctx, hash); err != nil {
			a.log.Warn().Err(err).Msg("Could not note the admin session's activity")
		}
	}
	return session{user: row.UserID, csrf: hashOf("csrf-session", secret)}, true
}

// csrfOK: the form field or header carries want.
func (a *Auth) csrfOK(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
		got = r.PostFormValue(CSRFField)
	}
	return got != "" && same(got, want)
}

// refuseCSRF answers a form posted without its CSRF token: 403, audited.
func (a *Auth) refuseCSRF(w http.ResponseWriter, r *http.Request, actor string) {
	if actor == "" {
		actor = "admin_web"
	}
	a.audit(r.Context(), actor, ActionCSRFRefused, "form posted without its CSRF token: refused", map[string]any{"method": r.Method, "route": routePattern(r), "address": a.clientAddress(r)})
	a.page(w, http.StatusForbidden, pageMessage{Title: "Refused", Text: "This form was not sent from Caldicott's own page (its CSRF token is missing or wrong), so nothing was done. Go back, reload the page and try again."})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
