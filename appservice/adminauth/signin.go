package adminauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// The sign-in routes.
const (
	signInPath  = "/_caldicott/signin"
	codePath    = "/_caldicott/signin/code"
	signOutPath = "/_caldicott/signout"
)

// maxFormBytes bounds a posted form.
const maxFormBytes = 64 << 10

// maxCodeAttempts: wrong codes tried before a browser's code stops working.
const maxCodeAttempts = 5

// pendingLife is how long a browser's sign-in cookie lasts: long enough
// to ask for a code and type it.
const pendingLife = time.Hour

// Mount registers the sign-in pages on r: GET and POST /_caldicott/signin
// (the Matrix ID form; asking for a code), POST /_caldicott/signin/code
// (the code; a session), POST /_caldicott/signout, and the pages' style.
func (a *Auth) Mount(r chi.Router) {
	r.Get(signInPath, a.showSignIn)
	r.Post(signInPath, a.askForCode)
	r.Post(codePath, a.enterCode)
	r.With(a.RequireSession).Post(signOutPath, a.signOut)
	r.Get(stylePath, serveCSS)
}

// showSignIn shows the Matrix ID form, or who is signed in and a way out.
func (a *Auth) showSignIn(w http.ResponseWriter, r *http.Request) {
	if s, ok := a.liveSession(r); ok {
		a.page(w, http.StatusOK, pageMessage{Title: "Signed in", Text: "You are signed in as " + s.user + ".", Form: "signout", CSRF: s.csrf, Home: a.home})
		return
	}
	pending := a.cookieValue(r, pendingCookie)
	if pending == "" {
		pending = newSecret()
		a.setCookie(w, pendingCookie, pending, pendingLife)
	}
	a.page(w, http.StatusOK, pageMessage{Title: "Sign in to Caldicott", Form: "mxid", CSRF: hashOf("csrf-signin", pending)})
}

// signInForm checks a sign-in form's CSRF token against the browser's
// sign-in cookie and the address's rate; false when it has answered.
func (a *Auth) signInForm(w http.ResponseWriter, r *http.Request) (pending string, ok bool) {
	pending = a.cookieValue(r, pendingCookie)
	if pending == "" || !a.csrfOK(r, hashOf("csrf-signin", pending)) {
		// Anyone can post this without a session: limited per address like
		// API calls without a token, so the refusals cannot flood the log.
		if ok, wait, first := a.unauthLimit.take(a.addressKey(r)); !ok {
			if first {
				a.audit(r.Context(), "admin_web", ActionCSRFRefused, "too many sign-in forms without their CSRF token from one address", map[string]any{"address": a.clientAddress(r)})
			}
			a.tooMany(w, wait)
			return "", false
		}
		a.refuseCSRF(w, r, "")
		return "", false
	}
	if ok, wait, first := a.addressLimit.take(a.addressKey(r)); !ok {
		if first {
			a.audit(r.Context(), "admin_web", ActionSignInFailed, "too many sign-in requests from one address", map[string]any{"address": a.clientAddress(r)})
		}
		a.tooMany(w, wait)
		return "", false
	}
	return pending, true
}

func (a *Auth) tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
	minutes := max(1, int((wait+time.Minute-1)/time.Minute))
	a.page(w, http.StatusTooManyRequests, pageMessage{Title: "Please wait", Text: fmt.Sprintf("Too many sign-in requests. Try again in %d minutes.", minutes)})
}

// askForCode makes a code for the Matrix ID given and, only if that
// person is an IG admin, has the bot send it to them. The answer is the
// same either way, and comes before the send, so neither its words nor
// its timing say who is an IG admin.
func (a *Auth) askForCode(w http.ResponseWriter, r *http.Request) {
	pending, ok := a.signInForm(w, r)
	if !ok {
		return
	}
	mxid := strings.TrimSpace(r.PostFormValue("mxid"))
	user := id.UserID(mxid)
	if _, _, err := user.Parse(); err != nil || !strings.HasPrefix(mxid, "@") || len(mxid) > 255 {
		a.page(w, http.StatusBadRequest, pageMessage{Title: "Sign in to Caldicott", Text: "That is not a Matrix ID: write it in full, e.g. @jane.doe:trust.nhs.uk.", Form: "mxid", CSRF: hashOf("csrf-signin", pending)})
		return
	}
	if ok, wait, _ := a.personLimit.take(mxid); !ok {
		a.tooMany(w, wait)
		return
	}
	ctx, now, code := r.Context(), a.now(), newCode()
	ttl := a.cfg.SignIn.CodeTTL.Duration
	c := store.SignInCode{UserID: mxid, CodeHash: hashOf("code", pending, normalCode(code)), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.st.PutSignInCode(ctx, hashOf("pending", pending), c); err != nil {
		a.log.Error().Err(err).Msg("Could not store a sign-in code")
		a.page(w, http.StatusServiceUnavailable, pageMessage{Title: "Try again", Text: "Caldicott could not make a code just now. Try again in a minute."})
		return
	}
	send := a.mayAdminister(user)
	a.audit(ctx, mxid, ActionCodeRequested, "sign-in code asked for", map[string]any{"sent": send, "address": a.clientAddress(r)})
	if send {
		go a.sendCode(user, code, ttl)
	}
	a.page(w, http.StatusOK, pageMessage{Title: "Check your direct chat with Caldicott",
		Text: fmt.Sprintf("If %s is one of this trust's IG admins, Caldicott's bot has sent a sign-in code to their direct chat with it. The code works once, for %s, in this browser only.", mxid, ttl),
		Form: "code", CSRF: hashOf("csrf-signin", pending)})
}

// sendCode has the bot tell user their code, through the executor.
func (a *Auth) sendCode(user id.UserID, code string, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(a.background, 2*time.Minute)
	defer cancel()
	text := fmt.Sprintf("Your sign-in code for Caldicott's pages is %s. It works once, for %s, in the browser that asked for it. If you did not ask to sign in, tell your IG team: someone typed your Matrix ID.", code, ttl)
	d := policy.TellUser(policy.RuleSignInCode, user.String(), "", text, "sign-in code asked for on Caldicott's pages")
	if err := a.execute(ctx, d); err != nil {
		a.log.Error().Err(err).Stringer("user_id", user).Msg("Could not send a sign-in code")
	}
}

// enterCode checks a typed code against the browser's and starts a session.
func (a *Auth) enterCode(w http.ResponseWriter, r *http.Request) {
	pending, ok := a.signInForm(w, r)
	if !ok {
		return
	}
	ctx, key := r.Context(), hashOf("pending", pending)
	c, err := a.st.SignInCodeFor(ctx, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Error().Err(err).Msg("Could not read a sign-in code")
		a.page(w, http.StatusServiceUnavailable, pageMessage{Title: "Try again", Text: "Caldicott could not check the code just now. Try again in a minute."})
		return
	}
	if err != nil {
		a.codeRefused(w, r, pending, "unknown", "no code was asked for in this browser")
		return
	}
	now := a.now()
	switch {
	case !c.UsedAt.IsZero():
		a.codeRefused(w, r, pending, c.UserID, "code already used")
		return
	case !now.Before(c.ExpiresAt):
		a.codeRefused(w, r, pending, c.UserID, "code expired")
		return
	case c.Attempts >= maxCodeAttempts:
		a.codeRefused(w, r, pending, c.UserID, "too many wrong codes")
		return
	case !same(c.CodeHash, hashOf("code", pending, normalCode(r.PostFormValue("code")))) || !a.mayAdminister(id.UserID(c.UserID)):
		if err := a.st.FailSignInCode(ctx, key); err != nil {
			a.log.Error().Err(err).Msg("Could not count a wrong sign-in code")
		}
		a.codeRefused(w, r, pending, c.UserID, "wrong code")
		return
	}
	if used, err := a.st.UseSignInCode(ctx, key, maxCodeAttempts); err != nil || !used {
		a.codeRefused(w, r, pending, c.UserID, "code already used")
		return
	}
	a.startSession(w, r, c.UserID)
}

func (a *Auth) codeRefused(w http.ResponseWriter, r *http.Request, pending, actor, why string) {
	a.audit(r.Context(), actor, ActionSignInFailed, "sign-in refused: "+why, map[string]any{"address": a.clientAddress(r)})
	a.page(w, http.StatusUnauthorized, pageMessage{Title: "That code did not work",
		Text: "The code is wrong, already used or expired. Check it, or ask for a new one.", Form: "code", CSRF: hashOf("csrf-signin", pending)})
}

// startSession signs user in: a new session, its cookie, the sign-in
// cookie dropped, and an audit entry.
func (a *Auth) startSession(w http.ResponseWriter, r *http.Request, user string) {
	ctx, now, secret := r.Context(), a.now(), newSecret()
	max := a.cfg.SignIn.SessionMax.Duration
	if err := a.st.CreateAdminSession(ctx, hashOf("session", secret), store.AdminSession{UserID: user, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(max)}); err != nil {
		a.log.Error().Err(err).Msg("Could not store an admin session")
		a.page(w, http.StatusServiceUnavailable, pageMessage{Title: "Try again", Text: "Caldicott could not sign you in just now. Ask for a new code in a minute."})
		return
	}
	a.setCookie(w, sessionCookie, secret, max)
	a.setCookie(w, pendingCookie, "", 0)
	a.audit(ctx, user, ActionSignedIn, "signed in to Caldicott's pages", map[string]any{"address": a.clientAddress(r), "expires_at": formatTime(now.Add(max))})
	http.Redirect(w, r, a.home, http.StatusSeeOther)
}

// signOut ends the session (RequireSession checked its CSRF token).
func (a *Auth) signOut(w http.ResponseWriter, r *http.Request) {
	user, _ := Who(r.Context())
	if _, err := a.st.EndAdminSession(r.Context(), hashOf("session", a.cookieValue(r, sessionCookie))); err != nil {
		a.log.Error().Err(err).Msg("Could not end an admin session")
		a.page(w, http.StatusServiceUnavailable, pageMessage{Title: "Try again", Text: "Caldicott could not sign you out just now. Try again in a minute."})
		return
	}
	a.setCookie(w, sessionCookie, "", 0)
	a.audit(r.Context(), user, ActionSignedOut, "signed out of Caldicott's pages", map[string]any{"address": a.clientAddress(r)})
	a.page(w, http.StatusOK, pageMessage{Title: "Signed out", Text: "You have signed out."})
}
