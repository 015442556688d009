package adminweb_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/appservice/adminweb"
	"github.com/caldicott/caldicott/compliance"
	ct "github.com/caldicott/caldicott/compliance/compliancetest"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// The access layer's test doubles: a page needs the session header, an
// endpoint a bearer token naming its scope. They stand for adminauth,
// which this package takes as given.
const (
	sessionHeader = "X-Test-Session"
	testCSRF      = "csrf-token-for-the-test"
	testWho       = "@ig:a.test"
)

var testAuth = adminweb.Auth{
	Pages: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(sessionHeader) != "ok" {
				http.Error(w, "sign in", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	},
	API: func(scope string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				granted := strings.Fields(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
				for _, g := range granted {
					if g == scope {
						next.ServeHTTP(w, r)
						return
					}
				}
				http.Error(w, `{"error":"scope"}`, http.StatusForbidden)
			})
		}
	},
	Who:    func(context.Context) (string, bool) { return testWho, true },
	Acting: func(ctx context.Context) (string, string) { return testActing(ctx) },
	CSRF:   func(*http.Request) string { return testCSRF },
}

// seededServer serves the seeded trust from a SQLite store, reading only.
func seededServer(t testing.TB) http.Handler {
	t.Helper()
	return seededServerActing(t, nil)
}

// seededServerActing serves the seeded trust with acts carrying out acts.
func seededServerActing(t testing.TB, acts adminweb.Actions) http.Handler {
	t.Helper()
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "c.db"), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ct.Seed(t, st)
	srv, err := adminweb.New(compliance.New(st, ct.Config(t)), testAuth, acts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return srv.Handler()
}

func get(t testing.TB, h http.Handler, path string, header ...string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Header()
}

func page(t testing.TB, h http.Handler, path string) (int, string) {
	code, body, _ := get(t, h, path, sessionHeader, "ok")
	return code, body
}

func roomPath(id string) string   { return adminweb.UIPrefix + "rooms/" + url.PathEscape(id) }
func personPath(id string) string { return adminweb.UIPrefix + "people/" + url.PathEscape(id) }

// pagePaths are every page of the seeded trust.
func pagePaths() []string {
	paths := []string{adminweb.UIPrefix, adminweb.UIPrefix + "rooms", adminweb.UIPrefix + "people", adminweb.UIPrefix + "criteria",
		adminweb.UIPrefix + "?from=2026-01-01&to=2026-06-01"}
	for _, r := range []string{ct.ClinicalOK, ct.ClinicalBad, ct.Social} {
		paths = append(paths, roomPath(r))
	}
	for _, u := range []string{ct.Alice, ct.Bob, ct.Carol, ct.Dave, ct.Eve, ct.Frank} {
		paths = append(paths, personPath(u))
	}
	return paths
}

func TestPagesShowTheTrust(t *testing.T) {
	h := seededServer(t)
	cases := []struct {
		path string
		want []string
	}{
		{adminweb.UIPrefix, []string{`id="non-compliant-rooms"`, `class="room non-compliant"><a class="room-link" href="/_caldicott/ui/rooms/%21clinbad:a.test?from=2026-05-03&amp;to=2026-06-01"`,
			"Encryption is off.", `id="logout-form"`, `name="csrf" value="` + testCSRF + `"`, "Period covered: 2026-05-03 to 2026-06-01",
			"Generated 1 Jun 2026 12:00 UTC for " + testWho, "20% of 5 members", "1 review due or open", `class="person-link" href="/_caldicott/ui/people/@dave:a.test`,
			"running on a view of the federation too old to trust", "The chain is intact", "published up to entry 2", `id="criterion-retention"`}},
		{adminweb.UIPrefix + "?from=2026-01-01&to=2026-03-31", []string{"Period covered: 2026-01-01 to 2026-03-31", "0 requests refused in the period"}},
		{adminweb.UIPrefix + "rooms", []string{`id="rooms"`, ct.ClinicalOK, ct.Social, "no: Encryption is off. Guests may join.", `<td class="bad">never, failing</td>`, "1 Jun 2026 11:50 UTC"}},
		{roomPath(ct.ClinicalOK), []string{`id="room-id">` + ct.ClinicalOK, "roles Nurse", "requests approved from the directory", "unverified (within grace) (unsigned_device)", "2 entries in the audit log"}},
		{roomPath(ct.ClinicalBad), []string{"suspended until verified", "3 failures in a row", "10 days overdue", "removed someone"}},
		{personPath(ct.Dave), []string{"Dave Green, Nurse, Ward 1", "left (from csv)", "suspended until verified", `id="person-rooms"`, ct.ClinicalBad}},
		{adminweb.UIPrefix + "people", []string{`id="people"`, ct.Eve, "another trust"}},
		{adminweb.UIPrefix + "criteria", []string{"client setting", "organisational", "server-enforced", `id="criterion-passcode"`}},
	}
	for _, c := range cases {
		code, body := page(t, h, c.path)
		if code != http.StatusOK {
			t.Errorf("%s: %d\n%s", c.path, code, body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: missing %q", c.path, w)
			}
		}
	}
}

func TestPagesNeedASession(t *testing.T) {
	h := seededServer(t)
	for _, p := range pagePaths() {
		if code, _, _ := get(t, h, p); code != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d, want the access layer's 401", p, code)
		}
	}
	if code, body, _ := get(t, h, adminweb.StylePath); code != http.StatusOK || !strings.Contains(body, "@media print") {
		t.Errorf("the stylesheet: %d", code)
	}
}

// TestPagesNeedNoScriptOrInlineStyle: the pages work under a strict CSP
// (no inline script or style) and without JavaScript at all.
func TestPagesNeedNoScriptOrInlineStyle(t *testing.T) {
	h := seededServer(t)
	forbidden := regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, p := range pagePaths() {
		code, body := page(t, h, p)
		if code != http.StatusOK {
			t.Errorf("%s: %d", p, code)
		}
		if m := forbidden.FindString(body); m != "" {
			t.Errorf("%s holds %q", p, m)
		}
	}
}

func apiGet(t testing.TB, h http.Handler, path, scopes string) (int, string, http.Header) {
	return get(t, h, path, "Authorization", "Bearer "+scopes)
}

func TestAPIAnswers(t *testing.T) {
	h := seededServer(t)
	v1 := adminweb.APIPrefix
	cases := []struct {
		path string
		want []string
	}{
		{v1 + "/overview", []string{`"trust":"Trust A"`, `"non_compliant":[{"room_id":"!clinbad:a.test"`}},
		{v1 + "/criteria", []string{`"id":"foi-sar"`}},
		{v1 + "/rooms", []string{`"rooms":[`, ct.Social}},
		{v1 + "/rooms/" + url.PathEscape(ct.ClinicalBad), []string{`"standing":"suspended"`, `"legal_hold":true`}},
		{v1 + "/people", []string{`"people":[`, ct.Frank}},
		{v1 + "/people/" + ct.Dave + "?from=2026-05-01", []string{`"hold":{`, `"suspended_from":["!clinbad:a.test"]`}},
		{v1 + "/reviews", []string{`"days_overdue":10`}},
		{v1 + "/retention", []string{`"failing":[{"room_id":"!clinbad:a.test"`}},
		{v1 + "/holds", []string{`"legal_holds":[`, `"person_holds":[`}},
		{v1 + "/records", []string{`"waiting":1`, `"failed":1`}},
		{v1 + "/federation", []string{`"gatekeeper_state":"list_stale"`}},
	}
	for _, c := range cases {
		code, body, hdr := apiGet(t, h, c.path, "read")
		if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s %q", c.path, code, hdr.Get("Content-Type"), body)
			continue
		}
		if !json.Valid([]byte(body)) {
			t.Errorf("%s: not JSON", c.path)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: missing %s in %s", c.path, w, body)
			}
		}
	}
}

func TestAuditExportNeedsTheExportScope(t *testing.T) {
	h := seededServer(t)
	path := adminweb.APIPrefix + "/audit?from=2026-05-01"
	if code, _, _ := apiGet(t, h, path, "read"); code != http.StatusForbidden {
		t.Errorf("audit export with read only: %d, want 403", code)
	}
	if code, _, _ := apiGet(t, h, adminweb.APIPrefix+"/rooms", "export"); code != http.StatusForbidden {
		t.Errorf("rooms with export only: %d, want 403", code)
	}
	code, body, hdr := apiGet(t, h, path, "export")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("audit export: %d %s", code, hdr.Get("Content-Type"))
	}
	var lines, masked int
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var e compliance.ExportedEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		lines++
		if e.Masked {
			masked++
		}
	}
	// The seed's four entries of two days ago (its directory import is older).
	if lines != 4 || masked != 2 {
		t.Errorf("%d entries (%d masked), want 4 (2 masked)", lines, masked)
	}
	if code, body, _ := apiGet(t, h, adminweb.APIPrefix+"/audit?from=2026-06-01&to=2026-06-01", "export"); code != http.StatusOK || body != "" {
		t.Errorf("an empty period: %d %q", code, body)
	}
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	h := seededServer(t)
	v1 := adminweb.APIPrefix
	cases := []struct {
		path   string
		status int
		says   string
	}{
		{v1 + "/rooms/not-a-room", 400, "not a room ID"},
		{v1 + "/rooms/" + url.PathEscape("!a b:c"), 400, "not a room ID"},
		{v1 + "/rooms/" + url.PathEscape("!"+strings.Repeat("x", 300)+":a.test"), 400, "at most 255"},
		{v1 + "/people/alice", 400, "not a Matrix user ID"},
		{v1 + "/people/" + url.PathEscape("@a:b:c:d"), 400, "not a Matrix user ID"},
		{v1 + "/rooms?from=" + strings.Repeat("2", 400), 400, "too long"},
		{v1 + "/rooms?limit=5", 400, `unknown parameter \"limit\"`},
		{v1 + "/rooms?from=a&from=b", 400, "more than once"},
		{v1 + "/rooms?from=%zz", 400, "malformed"},
		{v1 + "/overview?from=2026-02-30", 400, "YYYY-MM-DD"},
		{v1 + "/overview?from=2026-05-01&to=2026-04-01", 400, "after to"},
		{v1 + "/overview?from=2001-01-01", 400, "at most"},
		{v1 + "/rooms/" + url.PathEscape("!unknown:a.test"), 404, "no record"},
		{v1 + "/people/" + url.PathEscape("@nobody:a.test"), 404, "no record"},
	}
	for _, c := range cases {
		code, body, hdr := apiGet(t, h, c.path, "read")
		var e struct{ Error string }
		if code != c.status || hdr.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %q, want %d saying %q", c.path, code, body, c.status, c.says)
		}
	}
	if code, body := page(t, h, adminweb.UIPrefix+"rooms/not-a-room"); code != 400 || !strings.Contains(body, "not a room ID") {
		t.Errorf("a page with a bad room ID: %d", code)
	}
}

// TestNoPatientDataOnAnyPageOrEndpoint: the seeded store has an NHS number
// in a legal hold's and a person hold's reason, an access request's
// reason, a sweep's and a record's error, a record's payload, an
// attestation's note, a display name and audit reasons; no page and no
// endpoint shows it, nor the message text the record's payload holds.
func TestNoPatientDataOnAnyPageOrEndpoint(t *testing.T) {
	h := seededServer(t)
	var all strings.Builder
	for _, p := range pagePaths() {
		_, body := page(t, h, p)
		all.WriteString(body)
	}
	for _, rt := range adminweb.Routes() {
		if rt.Scope == "" || strings.Contains(rt.Path, "{") {
			continue
		}
		_, body, _ := apiGet(t, h, rt.Path+"?from=2026-01-01", "read export")
		all.WriteString(body)
	}
	for _, p := range []string{"/rooms/" + url.PathEscape(ct.ClinicalOK), "/rooms/" + url.PathEscape(ct.ClinicalBad), "/people/" + ct.Dave, "/people/" + ct.Frank} {
		_, body, _ := apiGet(t, h, adminweb.APIPrefix+p, "read")
		all.WriteString(body)
	}
	out := all.String()
	for _, n := range []string{ct.NHSNumber, ct.NHSNumberSpaced, "the message", "caring for"} {
		if strings.Contains(out, n) {
			t.Errorf("a page or an endpoint shows %q", n)
		}
	}
	for _, shown := range []string{"complaint re NHS no " + compliance.Masked, "investigation about patient " + compliance.Masked} {
		if !strings.Contains(out, shown) {
			t.Errorf("the reason %q is not shown masked: the test does not reach it", shown)
		}
	}
}
