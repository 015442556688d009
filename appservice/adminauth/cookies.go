package adminauth

import (
	"net/http"
	"time"
)

// Cookie names: with the Secure flag, the __Host- prefix makes browsers
// refuse them unless set over HTTPS for this host and path / only.
const (
	sessionCookie = "caldicott_session"
	pendingCookie = "caldicott_signin"
)

func (a *Auth) secure() bool { return !a.cfg.SignIn.PlainHTTPLoopback }

func (a *Auth) cookieName(base string) string {
	if a.secure() {
		return "__Host-" + base
	}
	return base
}

func (a *Auth) cookieValue(r *http.Request, base string) string {
	c, err := r.Cookie(a.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie sets an HttpOnly, SameSite=Strict cookie (Secure unless the
// plain-HTTP loopback demo is configured); maxAge 0 deletes it.
func (a *Auth) setCookie(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name: a.cookieName(base), Value: value, Path: "/",
		HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteStrictMode,
		MaxAge: int(maxAge.Seconds()),
	}
	if maxAge <= 0 {
		c.MaxAge, c.Value = -1, ""
	}
	http.SetCookie(w, c)
}
