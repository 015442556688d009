package adminauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/config"
)

// TestSignInWithMatrix: an IG admin asks for a code, the bot is asked to
// send it to them, and the code (typed in any case) signs them in once;
// someone else named gets the same page and nothing is sent; wrong codes
// fail, and each step is audited with the Matrix ID.
func TestSignInWithMatrix(t *testing.T) {
	rg := newRig(t, nil)
	stranger := rg.browser(t)
	status, strangerPage := rg.askCode(t, stranger, "@bob:trust-a.example")
	if status != http.StatusOK {
		t.Fatalf("asking for someone else: %d", status)
	}
	ig := rg.browser(t)
	status, igPage := rg.askCode(t, ig, igAdmin)
	if status != http.StatusOK {
		t.Fatalf("asking as the IG admin: %d", status)
	}
	code := rg.codeSent(t, igAdmin)
	if same := csrfField.ReplaceAllString(strings.ReplaceAll(strangerPage, "@bob:trust-a.example", "X"), "") ==
		csrfField.ReplaceAllString(strings.ReplaceAll(igPage, igAdmin, "X"), ""); !same {
		t.Errorf("the pages differ, so they tell who is an IG admin:\n%s\n---\n%s", strangerPage, igPage)
	}
	select {
	case a := <-rg.told:
		t.Fatalf("something else was sent: %+v", a)
	case <-time.After(200 * time.Millisecond):
	}
	csrf := csrfOf(t, igPage)
	if status, _, _ := post(t, ig, rg.srv.URL+codePath, url.Values{"code": {"AAAAA-AAAAA"}, "csrf": {csrf}}); status != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", status)
	}
	// The code works only in the browser that asked for it.
	_, otherPage := get(t, stranger, rg.srv.URL+signInPath)
	if status, _, _ := post(t, stranger, rg.srv.URL+codePath, url.Values{"code": {code}, "csrf": {csrfOf(t, otherPage)}}); status != http.StatusUnauthorized {
		t.Fatalf("the code in another browser: %d", status)
	}
	if status, _, loc := post(t, ig, rg.srv.URL+codePath, url.Values{"code": {strings.ToLower(strings.ReplaceAll(code, "-", " "))}, "csrf": {csrf}}); status != http.StatusSeeOther || loc != "/_caldicott/" {
		t.Fatalf("the right code: %d %q", status, loc)
	}
	if status, body := get(t, ig, rg.srv.URL+"/_caldicott/"); status != http.StatusOK || !strings.Contains(body, "signed in as "+igAdmin) {
		t.Fatalf("the home page after sign-in: %d %s", status, body)
	}
	if status, body := get(t, ig, rg.srv.URL+signInPath); status != http.StatusOK || !strings.Contains(body, "You are signed in as "+igAdmin) {
		t.Fatalf("the sign-in page when signed in: %d %s", status, body)
	}
	// Used once: the same browser cannot sign in with it again.
	if status, _, _ := post(t, ig, rg.srv.URL+codePath, url.Values{"code": {code}, "csrf": {csrf}}); status == http.StatusSeeOther {
		t.Fatal("a used code signed in again")
	}
	requested := rg.audits(t, ActionCodeRequested)
	if len(requested) != 2 || requested[0].Actor != "@bob:trust-a.example" || !strings.Contains(requested[0].Detail, `"sent":false`) ||
		requested[1].Actor != igAdmin || !strings.Contains(requested[1].Detail, `"sent":true`) {
		t.Errorf("code requests audited: %+v", requested)
	}
	if in := rg.audits(t, ActionSignedIn); len(in) != 1 || in[0].Actor != igAdmin {
		t.Errorf("sign-ins audited: %+v", in)
	}
	if failed := rg.audits(t, ActionSignInFailed); len(failed) < 2 || failed[0].Actor != igAdmin {
		t.Errorf("failures audited: %+v", failed)
	}
}

// TestSignInCodeLimits: a code expires, stops working after five wrong
// tries, and a person and an address can ask only so often, whoever
// they are.
func TestSignInCodeLimits(t *testing.T) {
	rg := newRig(t, nil)
	t.Run("expired", func(t *testing.T) {
		b := rg.browser(t)
		_, page := rg.askCode(t, b, igAdmin)
		code := rg.codeSent(t, igAdmin)
		rg.clock.advance(10 * time.Minute)
		if status, _, _ := post(t, b, rg.srv.URL+codePath, url.Values{"code": {code}, "csrf": {csrfOf(t, page)}}); status != http.StatusUnauthorized {
			t.Fatalf("an expired code: %d", status)
		}
	})
	t.Run("wrong five times", func(t *testing.T) {
		rg.clock.advance(time.Hour) // the person's allowance refills
		b := rg.browser(t)
		_, page := rg.askCode(t, b, igAdmin)
		code := rg.codeSent(t, igAdmin)
		for range maxCodeAttempts {
			post(t, b, rg.srv.URL+codePath, url.Values{"code": {"AAAAA-AAAAA"}, "csrf": {csrfOf(t, page)}})
		}
		if status, _, _ := post(t, b, rg.srv.URL+codePath, url.Values{"code": {code}, "csrf": {csrfOf(t, page)}}); status != http.StatusUnauthorized {
			t.Fatalf("the right code after five wrong ones: %d", status)
		}
	})
	t.Run("per person", func(t *testing.T) {
		rg.clock.advance(time.Hour)
		for i := range 3 {
			if status, _ := rg.askCode(t, rg.browser(t), "@nobody:trust-a.example"); status != http.StatusOK {
				t.Fatalf("request %d: %d", i+1, status)
			}
		}
		if status, _ := rg.askCode(t, rg.browser(t), "@nobody:trust-a.example"); status != http.StatusTooManyRequests {
			t.Fatalf("a fourth request within the hour: %d, want 429", status)
		}
	})
	t.Run("per address", func(t *testing.T) {
		small := newRig(t, func(c *config.AdminAPI) { c.SignIn.PerAddressPerHour = 2 })
		for i := range 2 {
			if status, _ := small.askCode(t, small.browser(t), "@p"+itoa(i)+":trust-a.example"); status != http.StatusOK {
				t.Fatalf("request %d: %d", i+1, status)
			}
		}
		if status, _ := small.askCode(t, small.browser(t), "@p9:trust-a.example"); status != http.StatusTooManyRequests {
			t.Fatalf("a third request from the address: %d, want 429", status)
		}
	})
}

// TestCSRFRefused: a form posted without the session's CSRF token (or
// with another session's) is refused with 403, audited with the signed-in
// person, and its handler never runs; with it, it runs. The sign-in forms
// are protected the same way.
func TestCSRFRefused(t *testing.T) {
	rg := newRig(t, nil)
	b := rg.browser(t)
	rg.signIn(t, b)
	_, home := get(t, b, rg.srv.URL+"/_caldicott/")
	token := strings.TrimSpace(home[strings.Index(home, "csrf=")+5:])
	for _, form := range []url.Values{{}, {"csrf": {"0123abcd"}}} {
		status, body, _ := post(t, b, rg.srv.URL+"/_caldicott/holds", form)
		if status != http.StatusForbidden || strings.Contains(body, "signed in as") {
			t.Fatalf("without the CSRF token: %d %s", status, body)
		}
	}
	refused := rg.audits(t, ActionCSRFRefused)
	if len(refused) != 2 || refused[0].Actor != igAdmin || !strings.Contains(refused[0].Detail, `"route":"/_caldicott/holds"`) {
		t.Errorf("refusals audited: %+v", refused)
	}
	if status, body, _ := post(t, b, rg.srv.URL+"/_caldicott/holds", url.Values{"csrf": {token}}); status != http.StatusOK || !strings.Contains(body, "signed in as "+igAdmin) {
		t.Fatalf("with the CSRF token: %d %s", status, body)
	}
	// The sign-in form without its token (a cross-site post).
	fresh := rg.browser(t)
	get(t, fresh, rg.srv.URL+signInPath)
	if status, _, _ := post(t, fresh, rg.srv.URL+signInPath, url.Values{"mxid": {igAdmin}}); status != http.StatusForbidden {
		t.Fatalf("the sign-in form without its token: %d", status)
	}
	// Sign-out is a CSRF-checked POST too, and ends the session.
	if status, _, _ := post(t, b, rg.srv.URL+signOutPath, url.Values{}); status != http.StatusForbidden {
		t.Fatalf("sign-out without its token: %d", status)
	}
	if status, _, _ := post(t, b, rg.srv.URL+signOutPath, url.Values{"csrf": {token}}); status != http.StatusOK {
		t.Fatalf("sign-out: %d", status)
	}
	if status, _ := get(t, b, rg.srv.URL+"/_caldicott/"); status != http.StatusSeeOther {
		t.Fatalf("after sign-out the page answered %d, want a redirect to sign in", status)
	}
	if out := rg.audits(t, ActionSignedOut); len(out) != 1 || out[0].Actor != igAdmin {
		t.Errorf("sign-outs audited: %+v", out)
	}
}

// TestSessionExpiry: a session ends after the idle time unused (audited
// once) and, however busy, at its absolute end; a request posted then is
// refused.
func TestSessionExpiry(t *testing.T) {
	rg := newRig(t, nil)
	idle := rg.browser(t)
	rg.signIn(t, idle)
	rg.clock.advance(29 * time.Minute)
	if status, _ := get(t, idle, rg.srv.URL+"/_caldicott/"); status != http.StatusOK {
		t.Fatalf("within the idle time: %d", status)
	}
	rg.clock.advance(30 * time.Minute)
	if status, _ := get(t, idle, rg.srv.URL+"/_caldicott/"); status != http.StatusSeeOther {
		t.Fatalf("idle for 30 minutes: %d, want a redirect to sign in", status)
	}
	get(t, idle, rg.srv.URL+"/_caldicott/")
	if n := len(rg.audits(t, ActionSessionExpired)); n != 1 {
		t.Errorf("%d expiries audited; want 1", n)
	}

	rg.clock.advance(time.Hour)
	busy := rg.browser(t)
	rg.signIn(t, busy)
	for range 8 * 3 { // every 20 minutes for 8 hours
		rg.clock.advance(20 * time.Minute)
		get(t, busy, rg.srv.URL+"/_caldicott/")
	}
	if status, _ := get(t, busy, rg.srv.URL+"/_caldicott/"); status != http.StatusSeeOther {
		t.Fatalf("after the absolute end: %d", status)
	}
	if status, _, _ := post(t, busy, rg.srv.URL+"/_caldicott/holds", url.Values{"csrf": {"x"}}); status != http.StatusUnauthorized {
		t.Fatalf("a post after the end: %d, want 401", status)
	}
}

// TestSecurityHeaders: the pages and the API carry the CSP (no inline
// script, no framing), nosniff, no referrer and no-store.
func TestSecurityHeaders(t *testing.T) {
	rg := newRig(t, nil)
	for _, path := range []string{signInPath, "/_caldicott/", "/_caldicott/admin/v1/rooms/x"} {
		resp, err := http.Get(rg.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

// TestCookiesSecure: outside the plain-HTTP demo, the cookies are Secure,
// HttpOnly, SameSite=Strict and __Host- prefixed.
func TestCookiesSecure(t *testing.T) {
	rg := newRig(t, func(c *config.AdminAPI) { c.SignIn.PlainHTTPLoopback = false })
	w := httptest.NewRecorder()
	rg.auth.showSignIn(w, httptest.NewRequest(http.MethodGet, signInPath, nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != "__Host-caldicott_signin" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v", c)
	}
}

// TestSignInCSRFRefusalsLimited: sign-in forms posted without their CSRF
// token (anyone can post them) are refused 403 and audited only within
// the address's allowance; beyond it 429, the first of the run audited.
func TestSignInCSRFRefusalsLimited(t *testing.T) {
	rg := newRig(t, func(c *config.AdminAPI) { c.SignIn.PerAddressPerHour = 3 })
	b := rg.browser(t)
	for i := range 20 {
		status, _, _ := post(t, b, rg.srv.URL+signInPath, url.Values{"mxid": {igAdmin}})
		want := http.StatusForbidden
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Fatalf("post %d without its CSRF token: %d, want %d", i+1, status, want)
		}
	}
	if n := len(rg.audits(t, ActionCSRFRefused)); n != 4 {
		t.Errorf("%d refusals audited for 20 posts; want 4 (three 403s, the first 429)", n)
	}
}
