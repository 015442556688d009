package adminauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// clock is the store's clock in a test, moved by hand.
type clock struct{ at atomic.Int64 }

func (c *clock) now() time.Time           { return time.UnixMilli(c.at.Load()).UTC() }
func (c *clock) advance(d time.Duration)  { c.at.Add(d.Milliseconds()) }
func newClock(t time.Time) *clock         { c := &clock{}; c.at.Store(t.UnixMilli()); return c }
func dur(d time.Duration) config.Duration { return config.Duration{Duration: d} }

// rig is an Auth on a real SQLite store, its routes as a page layer and an
// API would mount them, and the decisions it asked the executor to carry out.
type rig struct {
	auth  *Auth
	st    *store.Store
	clock *clock
	srv   *httptest.Server
	mu    sync.Mutex
	sent  []policy.Action
	told  chan policy.Action
	// demoted: igAdmin has been taken off the trust's IG admins.
	demoted atomic.Bool
}

const igAdmin = "@ig:trust-a.example"

func newRig(t *testing.T, edit func(*config.AdminAPI)) *rig {
	t.Helper()
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rg := &rig{st: st, clock: newClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)), told: make(chan policy.Action, 16)}
	st.SetClock(rg.clock.now)
	cfg := config.AdminAPI{
		RateLimit: config.RateLimit{PerMinute: 60, Burst: 20},
		SignIn: config.SignIn{CodeTTL: dur(10 * time.Minute), SessionIdle: dur(30 * time.Minute), SessionMax: dur(8 * time.Hour),
			PerPersonPerHour: 3, PerAddressPerHour: 100, PlainHTTPLoopback: true},
	}
	if edit != nil {
		edit(&cfg)
	}
	rg.auth = New(Options{
		Store: st, Config: cfg, Log: zerolog.Nop(),
		IsIGAdmin: func(u id.UserID) bool { return u == igAdmin && !rg.demoted.Load() },
		Execute: func(_ context.Context, d policy.Decision) error {
			for _, a := range d.Actions {
				rg.mu.Lock()
				rg.sent = append(rg.sent, a)
				rg.mu.Unlock()
				rg.told <- a
			}
			return nil
		},
	})
	r := chi.NewRouter()
	r.Use(SecurityHeaders)
	rg.auth.Mount(r)
	whoAmI := func(w http.ResponseWriter, r *http.Request) {
		who, _ := Who(r.Context())
		_, _ = io.WriteString(w, "signed in as "+who+" csrf="+CSRFToken(r))
	}
	r.With(rg.auth.RequireSession).Get("/_caldicott/", whoAmI)
	r.With(rg.auth.RequireSession).Post("/_caldicott/holds", whoAmI)
	called := func(w http.ResponseWriter, r *http.Request) {
		name, _ := TokenName(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{"token": name})
	}
	r.With(rg.auth.RequireToken(ScopeRead)).Get("/_caldicott/admin/v1/rooms/{room}", called)
	r.With(rg.auth.RequireToken(ScopeExport)).Get("/_caldicott/admin/v1/export", called)
	r.With(rg.auth.RequireToken(ScopeAct)).Post("/_caldicott/admin/v1/rooms/{room}/hold", func(w http.ResponseWriter, r *http.Request) {
		name, _ := TokenName(r.Context())
		_ = json.NewEncoder(w).Encode(map[string]string{"token": name, "for": TokenFor(r.Context())})
	})
	rg.srv = httptest.NewServer(r)
	t.Cleanup(rg.srv.Close)
	return rg
}

// token makes a named token as the CLI would.
func (rg *rig) token(t *testing.T, name string, expires time.Duration, scopes ...Scope) string {
	t.Helper()
	secret, err := CreateToken(context.Background(), rg.st, NewToken{Name: name, Scopes: scopes, ExpiresIn: expires, By: "cli:ops"})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// call makes an API call with a bearer token.
func (rg *rig) call(t *testing.T, path, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rg.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// lastAudit is the newest audit entry.
func (rg *rig) lastAudit(t *testing.T) store.AuditEntry {
	t.Helper()
	var last store.AuditEntry
	if err := rg.st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error { last = e; return nil }); err != nil {
		t.Fatal(err)
	}
	return last
}

// audits counts the entries of an action.
func (rg *rig) audits(t *testing.T, action string) []store.AuditEntry {
	t.Helper()
	var out []store.AuditEntry
	if err := rg.st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error {
		if e.Action == action {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// browser is a client keeping cookies, not following redirects.
func (rg *rig) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// get fetches a page and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post posts a form and returns its status, body and Location.
func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return m[1]
}

var codeInText = regexp.MustCompile(`code for Caldicott's pages is ([A-Z0-9]{5}-[A-Z0-9]{5})`)

// askCode asks for a code for mxid in browser c; returns the code page.
func (rg *rig) askCode(t *testing.T, c *http.Client, mxid string) (int, string) {
	t.Helper()
	_, page := get(t, c, rg.srv.URL+signInPath)
	code, body, _ := post(t, c, rg.srv.URL+signInPath, url.Values{"mxid": {mxid}, "csrf": {csrfOf(t, page)}})
	return code, body
}

// codeSent waits for the bot to be asked to send a code, and reads it.
func (rg *rig) codeSent(t *testing.T, to string) string {
	t.Helper()
	select {
	case a := <-rg.told:
		m := codeInText.FindStringSubmatch(a.Text)
		if a.Kind != policy.NotifyUser || a.UserID != to || a.Rule != policy.RuleSignInCode || m == nil {
			t.Fatalf("the bot was asked for %+v", a)
		}
		return m[1]
	case <-time.After(5 * time.Second):
		t.Fatal("no sign-in code was sent")
	}
	return ""
}

// signIn signs igAdmin in with browser c.
func (rg *rig) signIn(t *testing.T, c *http.Client) {
	t.Helper()
	_, page := rg.askCode(t, c, igAdmin)
	code := rg.codeSent(t, igAdmin)
	status, body, loc := post(t, c, rg.srv.URL+codePath, url.Values{"code": {strings.ToLower(code)}, "csrf": {csrfOf(t, page)}})
	if status != http.StatusSeeOther || loc != "/_caldicott/" {
		t.Fatalf("sign in with the right code: %d %q\n%s", status, loc, body)
	}
}
