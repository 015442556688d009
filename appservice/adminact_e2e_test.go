//go:build goolm

package appservice_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/adminauth"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// adminCall is one call to the admin API with a bearer token.
func adminCall(t *testing.T, method, u, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// auditOf is the newest audit entry of action about room ("" for any).
func auditOf(t *testing.T, tr *trust.Trust, action string, room id.RoomID) (store.AuditEntry, bool) {
	t.Helper()
	var last store.AuditEntry
	found := false
	if err := tr.Store.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		if e.Action == action && (room == "" || e.RoomID == room.String()) {
			last, found = e, true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return last, found
}

// TestAdminActsOnDendrite: the act scope on a real homeserver. The IG
// admin's act token places a legal hold on a clinical room: the store and
// `!policy hold list` agree, and the audit log names the IG admin and the
// token. A token for someone who is not an IG admin, and the IG admin's
// read-only token, are refused 403 and change nothing. The hold is lifted,
// a membership review started (posted in the room), an unknown room is
// 404. From the room's page, signed in, the hold form without its CSRF
// token is refused and with it places the hold as the signed-in IG admin.
// The per-person export is a zip for this trust's person and 403 for
// another trust's.
func TestAdminActsOnDendrite(t *testing.T) {
	port := testenv.FreePort(t, "127.0.0.1")
	tr := trust.New(t, trust.Options{Host: "127.0.0.11",
		ConfigYAML: fmt.Sprintf("admin_api: {listen: \"127.0.0.1:%d\", signin: {plain_http_loopback: true}}\n", port)})
	tr.Start(t)
	bot := tr.BotID()
	ig, mgmt := tr.IGAdmin(t)
	carol := tr.HS.RegisterUser(t, "carol", false)
	room := tr.ClinicalRoom(t, carol)
	testenv.Eventually(t, 20*time.Second, "the room recorded as classified", func() (bool, string) {
		_, err := tr.Store.RoomPolicy(ctx, room.String())
		return err == nil, fmt.Sprint(err)
	})
	admin := fmt.Sprintf("http://127.0.0.1:%d", port)
	token := func(name string, person id.UserID, scopes ...adminauth.Scope) string {
		secret, err := adminauth.CreateToken(ctx, tr.Store, adminauth.NewToken{Name: name, Scopes: scopes, For: person.String(), By: "cli:test"})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	igAct := token("ig-lead", ig.UserID, adminauth.ScopeAct)
	carolAct := token("carol-act", carol.UserID, adminauth.ScopeAct)
	igRead := token("ig-reader", ig.UserID, adminauth.ScopeRead)
	sar := token("sar", "", adminauth.ScopeExport)
	holdURL := admin + "/_caldicott/admin/v1/rooms/" + url.PathEscape(room.String()) + "/hold"
	held := func() (store.LegalHold, bool) {
		h, err := tr.Store.LegalHoldOf(ctx, room.String())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return h, err == nil
	}

	// Placed with the IG admin's act token, as the IG admin.
	code, body := adminCall(t, http.MethodPost, holdURL, igAct, `{"reason": "complaint 2026/114"}`)
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"done":true`)) || !bytes.Contains(body, []byte("Legal hold placed")) {
		t.Fatalf("placing the hold: %d %s", code, body)
	}
	if h, ok := held(); !ok || h.HeldBy != ig.UserID.String() || h.Reason != "complaint 2026/114" {
		t.Fatalf("the store's hold: %+v %v", h, ok)
	}
	testenv.Say(t, ig, mgmt, "!policy hold list")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Rooms on legal hold", room.String(), "by "+ig.UserID.String()+": complaint 2026/114")
	if e, ok := auditOf(t, tr, "legal_hold.on", room); !ok || e.Actor != ig.UserID.String() || !strings.Contains(e.Detail, `"via":"token:ig-lead"`) {
		t.Errorf("the hold's audit entry: %+v", e)
	}
	if e, ok := auditOf(t, tr, adminauth.ActionAPICall, ""); !ok || e.Actor != "token:ig-lead" || !strings.Contains(e.Detail, `"for":"`+ig.UserID.String()+`"`) {
		t.Errorf("the call's audit entry: %+v", e)
	}

	// Refused: a token for someone who is not an IG admin; a token without act.
	for _, c := range []struct{ name, token, want string }{
		{"carol-act", carolAct, "not one of this trust's IG admins"},
		{"ig-reader", igRead, "lacks the act scope"},
	} {
		code, body := adminCall(t, http.MethodDelete, holdURL, c.token, "")
		if code != http.StatusForbidden || !bytes.Contains(body, []byte(c.want)) {
			t.Errorf("lifting with %s: %d %s", c.name, code, body)
		}
		if e, _ := auditOf(t, tr, adminauth.ActionAPIRefused, ""); e.Actor != "token:"+c.name {
			t.Errorf("the refusal of %s audited as %+v", c.name, e)
		}
	}
	if h, ok := held(); !ok || h.HeldBy != ig.UserID.String() {
		t.Fatalf("the hold after the refused lifts: %+v %v", h, ok)
	}

	// Lifted; a second lift has nothing to do.
	if code, body := adminCall(t, http.MethodDelete, holdURL, igAct, ""); code != http.StatusOK || !bytes.Contains(body, []byte("Legal hold lifted")) {
		t.Fatalf("lifting the hold: %d %s", code, body)
	}
	if _, ok := held(); ok {
		t.Fatal("the hold is still in the store")
	}
	if e, ok := auditOf(t, tr, "legal_hold.off", room); !ok || e.Actor != ig.UserID.String() || !strings.Contains(e.Detail, `"via":"token:ig-lead"`) {
		t.Errorf("the lift's audit entry: %+v", e)
	}
	if code, body := adminCall(t, http.MethodDelete, holdURL, igAct, ""); code != http.StatusConflict || !bytes.Contains(body, []byte("not on legal hold")) {
		t.Errorf("lifting again: %d %s", code, body)
	}

	// A review started now, posted in the room; an unknown room is 404.
	if code, body := adminCall(t, http.MethodPost, strings.TrimSuffix(holdURL, "/hold")+"/review", igAct, ""); code != http.StatusOK {
		t.Fatalf("starting a review: %d %s", code, body)
	}
	testenv.WaitForNotice(t, carol, room, bot, "Membership review of this clinical room")
	if e, ok := auditOf(t, tr, "review_started", room); !ok || e.Actor != ig.UserID.String() || !strings.Contains(e.Detail, `"via":"token:ig-lead"`) {
		t.Errorf("the review's audit entry: %+v", e)
	}
	nowhere := admin + "/_caldicott/admin/v1/rooms/" + url.PathEscape("!nowhere:"+tr.HS.ServerName) + "/review"
	if code, body := adminCall(t, http.MethodPost, nowhere, igAct, ""); code != http.StatusNotFound {
		t.Errorf("an unknown room: %d %s", code, body)
	}

	checkHoldForm(t, tr, ig, admin, room)
	checkPersonExport(t, tr, admin, sar, carol.UserID)
}

var holdFormCSRF = regexp.MustCompile(`id="hold-form">\s*<input type="hidden" name="csrf" value="([^"]+)"`)

// checkHoldForm: signed in, the IG admin's room page places a hold with
// its form, as them; posted without its CSRF token, the form is refused
// and nothing changes.
func checkHoldForm(t *testing.T, tr *trust.Trust, ig *mautrix.Client, admin string, room id.RoomID) {
	t.Helper()
	b := newSignInBrowser(t, admin)
	_, csrf := b.askForCode(ig.UserID.String())
	if status, body := b.do(http.MethodPost, "/_caldicott/signin/code", url.Values{"code": {codeFromDM(t, tr, ig)}, "csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("signing in: %d\n%s", status, body)
	}
	roomPage := "/_caldicott/ui/rooms/" + url.PathEscape(room.String())
	status, body := b.do(http.MethodGet, roomPage, nil)
	m := holdFormCSRF.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil || !strings.Contains(body, `id="review-form"`) {
		t.Fatalf("the room's page: %d, no hold form with its CSRF field, or no review form\n%s", status, body)
	}
	if status, _ := b.do(http.MethodPost, roomPage+"/hold", url.Values{"reason": {"inquiry 7"}}); status != http.StatusForbidden {
		t.Errorf("the hold form without its CSRF token: %d, want 403", status)
	}
	if _, err := tr.Store.LegalHoldOf(ctx, room.String()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a hold after the refused form: %v", err)
	}
	status, body = b.do(http.MethodPost, roomPage+"/hold", url.Values{"reason": {"inquiry 7"}, "csrf": {m[1]}})
	if status != http.StatusOK || !strings.Contains(body, `id="act-result" role="status" class="ok">Legal hold placed`) || !strings.Contains(body, `id="hold-lift-form"`) {
		t.Fatalf("the hold form: %d\n%s", status, body)
	}
	if h, err := tr.Store.LegalHoldOf(ctx, room.String()); err != nil || h.HeldBy != ig.UserID.String() || h.Reason != "inquiry 7" {
		t.Errorf("the page's hold: %+v %v", h, err)
	}
	if e, ok := auditOf(t, tr, "legal_hold.on", room); !ok || e.Actor != ig.UserID.String() || !strings.Contains(e.Detail, `"via":"admin_web"`) {
		t.Errorf("the page's hold audited as %+v", e)
	}
}

// checkPersonExport: the per-person export is the subject access bundle
// for this trust's person; another trust's person is refused, audited,
// and nothing is exported, on the older endpoint too.
func checkPersonExport(t *testing.T, tr *trust.Trust, admin, token string, person id.UserID) {
	t.Helper()
	today := time.Now().UTC()
	q := "?since=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&until=" + today.Format(time.DateOnly) + "&requested_by=SAR-1"
	code, body := adminCall(t, http.MethodGet, admin+"/_caldicott/admin/v1/people/"+url.PathEscape(person.String())+"/export"+q, token, "")
	if code != http.StatusOK {
		t.Fatalf("the per-person export: %d %s", code, body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip archive: %v", err)
	}
	m := checkBundleSums(t, func(name string) []byte {
		for _, f := range zr.File {
			if f.Name == name {
				rc, _ := f.Open()
				defer rc.Close()
				data, _ := io.ReadAll(rc)
				return data
			}
		}
		return nil
	})
	if m.Subject != person.String() || m.Via != "admin_api" || m.RequestedBy != "SAR-1" {
		t.Errorf("the manifest: %+v", m)
	}
	remote := "@someone:elsewhere.example"
	for _, u := range []string{
		admin + "/_caldicott/admin/v1/people/" + url.PathEscape(remote) + "/export" + q,
		admin + "/_caldicott/admin/v1/export" + q + "&user=" + url.QueryEscape(remote),
	} {
		code, body := adminCall(t, http.MethodGet, u, token, "")
		if code != http.StatusForbidden || !bytes.Contains(body, []byte("another trust's server")) || bytes.HasPrefix(body, []byte("PK")) {
			t.Errorf("exporting another trust's person: %d %s", code, body)
		}
	}
	if e, ok := auditOf(t, tr, "refused.subject_access_export", ""); !ok || e.Actor != "token:sar" || !strings.Contains(e.Reason, remote) {
		t.Errorf("the refused export's audit entry: %+v", e)
	}
	if code, body := adminCall(t, http.MethodGet, admin+"/_caldicott/admin/v1/people/"+url.PathEscape(person.String())+"/export"+q+"&user=x", token, ""); code != http.StatusBadRequest {
		t.Errorf("a parameter the resource does not take: %d %s", code, body)
	}
}
