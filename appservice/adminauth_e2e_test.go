package appservice_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/adminauth"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

var (
	signInCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	signInCode = regexp.MustCompile(`code for Caldicott's pages is ([A-Z0-9]{5}-[A-Z0-9]{5})`)
)

// signInBrowser is a browser on the admin listener: it keeps cookies and
// shows redirects rather than following them.
type signInBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newSignInBrowser(t *testing.T, base string) *signInBrowser {
	jar, _ := cookiejar.New(nil)
	return &signInBrowser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *signInBrowser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = b.c.Get(b.base + path)
	} else {
		resp, err = b.c.PostForm(b.base+path, form)
	}
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// askForCode fills in the sign-in form with mxid; returns the page shown
// and its CSRF token.
func (b *signInBrowser) askForCode(mxid string) (string, string) {
	b.t.Helper()
	_, form := b.do(http.MethodGet, "/_caldicott/signin", nil)
	m := signInCSRF.FindStringSubmatch(form)
	if m == nil {
		b.t.Fatalf("no sign-in form:\n%s", form)
	}
	status, page := b.do(http.MethodPost, "/_caldicott/signin", url.Values{"mxid": {mxid}, "csrf": {m[1]}})
	if status != http.StatusOK {
		b.t.Fatalf("asking for a code for %s: %d\n%s", mxid, status, page)
	}
	return page, signInCSRF.FindStringSubmatch(page)[1]
}

// TestSignInWithMatrixOnDendrite: on its own listener (not the
// homeserver's), the IG admin asks for a sign-in code, the bot sends it
// to their direct chat, and they read it there as a Matrix client and
// sign in with it; someone who is not an IG admin asking gets the same
// page and no message at all.
func TestSignInWithMatrixOnDendrite(t *testing.T) {
	port := testenv.FreePort(t, "127.0.0.1")
	tr := trust.New(t, trust.Options{Host: "127.0.0.11",
		ConfigYAML: fmt.Sprintf("admin_api: {listen: \"127.0.0.1:%d\", signin: {plain_http_loopback: true}}\n", port)})
	tr.Start(t)
	bot := tr.BotID()
	ig, _ := tr.IGAdmin(t)
	bob := tr.HS.RegisterUser(t, "bob", false)

	// The admin paths are on the admin listener only.
	hsFacing := newSignInBrowser(t, fmt.Sprintf("http://127.0.0.1:%d", tr.Config.AppService.Port))
	for _, path := range []string{"/_caldicott/signin", "/_caldicott/admin/v1/export"} {
		if status, _ := hsFacing.do(http.MethodGet, path, nil); status != http.StatusNotFound {
			t.Errorf("%s on the homeserver-facing listener: %d, want 404", path, status)
		}
	}
	admin := fmt.Sprintf("http://127.0.0.1:%d", port)
	if status, body := newSignInBrowser(t, admin).do(http.MethodGet, "/_caldicott/admin/v1/export", nil); status != http.StatusUnauthorized || !strings.Contains(body, "M_MISSING_TOKEN") {
		t.Errorf("the export without a token on the admin listener: %d %s", status, body)
	}

	bobPage, _ := newSignInBrowser(t, admin).askForCode(bob.UserID.String())
	browser := newSignInBrowser(t, admin)
	igPage, csrf := browser.askForCode(ig.UserID.String())
	strip := func(page, who string) string {
		return signInCSRF.ReplaceAllString(strings.ReplaceAll(page, who, "WHO"), "")
	}
	if strip(bobPage, bob.UserID.String()) != strip(igPage, ig.UserID.String()) {
		t.Errorf("the page tells an IG admin from anyone else:\n%s\n---\n%s", bobPage, igPage)
	}

	// The IG admin reads the code in their direct chat with the bot.
	var dm string
	testenv.Eventually(t, 30*time.Second, "a direct chat with the IG admin", func() (bool, string) {
		v, ok, err := tr.Store.KV(ctx, "dm:"+ig.UserID.String())
		dm = v
		return ok && err == nil, ""
	})
	if _, err := ig.JoinRoomByID(ctx, id.RoomID(dm)); err != nil {
		t.Fatalf("the IG admin joins the direct chat: %v", err)
	}
	notice := testenv.WaitForNotice(t, ig, id.RoomID(dm), bot, "sign-in code for Caldicott's pages")
	code := signInCode.FindStringSubmatch(notice)
	if code == nil {
		t.Fatalf("no code in %q", notice)
	}
	if status, body := browser.do(http.MethodPost, "/_caldicott/signin/code", url.Values{"code": {code[1]}, "csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("signing in with the code: %d\n%s", status, body)
	}
	if _, body := browser.do(http.MethodGet, "/_caldicott/signin", nil); !strings.Contains(body, "You are signed in as "+ig.UserID.String()) {
		t.Fatalf("not signed in:\n%s", body)
	}

	// Signed in, the IG lead's overview is theirs to read, with a way out;
	// the same page without the session is not.
	status, overview := browser.do(http.MethodGet, "/_caldicott/ui/", nil)
	logout := regexp.MustCompile(`id="logout-form"[\s\S]*?name="csrf" value="([^"]+)"`).FindStringSubmatch(overview)
	if status != http.StatusOK || logout == nil || !strings.Contains(overview, "Period covered") {
		t.Fatalf("the overview once signed in: %d\n%s", status, overview)
	}
	if status, _ := newSignInBrowser(t, admin).do(http.MethodGet, "/_caldicott/ui/", nil); status == http.StatusOK {
		t.Error("the overview was shown without a session")
	}
	if status, _ := browser.do(http.MethodPost, "/_caldicott/signout", url.Values{"csrf": {logout[1]}}); status >= 400 {
		t.Errorf("signing out from the overview's form: %d", status)
	}
	if status, _ := browser.do(http.MethodGet, "/_caldicott/ui/", nil); status == http.StatusOK {
		t.Error("the overview was still shown after signing out")
	}

	// Bob was sent nothing: no direct chat, no invitation.
	if _, ok, _ := tr.Store.KV(ctx, "dm:"+bob.UserID.String()); ok {
		t.Error("the bot opened a direct chat with someone who is not an IG admin")
	}
	sync, err := bob.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sync.Rooms.Invite) > 0 {
		t.Errorf("bob was invited to %d rooms", len(sync.Rooms.Invite))
	}
	var signedIn, asked []store.AuditEntry
	if err := tr.Store.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		switch e.Action {
		case adminauth.ActionSignedIn:
			signedIn = append(signedIn, e)
		case adminauth.ActionCodeRequested:
			asked = append(asked, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(signedIn) != 1 || signedIn[0].Actor != ig.UserID.String() || len(asked) != 2 || asked[0].Actor != bob.UserID.String() {
		t.Errorf("audited sign-ins %+v, code requests %+v", signedIn, asked)
	}
}
