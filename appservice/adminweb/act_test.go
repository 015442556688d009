package adminweb_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/caldicott/caldicott/appservice/adminweb"
	ct "github.com/caldicott/caldicott/compliance/compliancetest"
)

var periodAction = regexp.MustCompile(`<form method="get" action="([^"]*)" id="period-form"`)

// actingHeader names whom a test's token acts as ("" for a system's).
const actingHeader = "X-Test-Acting"

type actingKey struct{}

// testActing is the token's person and name, as the access layer would
// give them: the test's request says whom it acts as.
func testActing(ctx context.Context) (string, string) {
	person, _ := ctx.Value(actingKey{}).(string)
	return person, "token:test"
}

// withActing carries the acting header into the context testActing reads.
func withActing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actingKey{}, r.Header.Get(actingHeader))))
	})
}

// fakeActs stands for the appservice's command paths: it records what it
// was asked and answers with outcome.
type fakeActs struct {
	mu      sync.Mutex
	asked   []adminweb.ActRequest
	outcome adminweb.Outcome
}

func (f *fakeActs) Act(_ context.Context, req adminweb.ActRequest) (adminweb.ActResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req)
	return adminweb.ActResult{Outcome: f.outcome, Message: strings.TrimSpace("the bot's words for " + string(req.Act) + " " + req.Reason)}, nil
}

func (f *fakeActs) take() []adminweb.ActRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.asked
	f.asked = nil
	return out
}

func send(t *testing.T, h http.Handler, method, path, ctype, body string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(out)
}

// TestActEndpoints: the act endpoints take only what they should, refuse
// bad input with 400 before anything is asked of the bot, need the act
// scope, act as the token's person, and answer each outcome with its
// status.
func TestActEndpoints(t *testing.T) {
	acts := &fakeActs{}
	h := withActing(seededServerActing(t, acts))
	room := adminweb.APIPrefix + "/rooms/" + url.PathEscape(ct.ClinicalOK)
	const js = "application/json"
	cases := []struct {
		name, method, path, ctype, body, scopes string
		outcome                                 adminweb.Outcome
		want                                    int
		wantAsked                               *adminweb.ActRequest
		wantBody                                string
	}{
		{"a hold", "POST", room + "/hold", js, `{"reason": "  complaint\t2026/114 "}`, "act", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActHold, Room: ct.ClinicalOK, Reason: "complaint 2026/114", As: testWho, Via: "token:test"}, `"done":true`},
		{"a lift", "DELETE", room + "/hold", "", "", "act", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActLift, Room: ct.ClinicalOK, As: testWho, Via: "token:test"}, `"acted_as":"` + testWho + `"`},
		{"a lift with {}", "DELETE", room + "/hold", js, `{}`, "act", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActLift, Room: ct.ClinicalOK, As: testWho, Via: "token:test"}, `"act":"lift"`},
		{"a review", "POST", room + "/review", "", "", "act", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActReview, Room: ct.ClinicalOK, As: testWho, Via: "token:test"}, "the bot's words for review"},
		{"refused by the rules", "POST", room + "/hold", js, `{"reason":"x"}`, "act", adminweb.Refused, 403,
			&adminweb.ActRequest{Act: adminweb.ActHold, Room: ct.ClinicalOK, Reason: "x", As: testWho, Via: "token:test"}, `"error":"the bot's words for hold x"`},
		{"an unknown room", "POST", adminweb.APIPrefix + "/rooms/" + url.PathEscape("!nowhere:a.test") + "/review", "", "", "act", adminweb.Unknown, 404,
			&adminweb.ActRequest{Act: adminweb.ActReview, Room: "!nowhere:a.test", As: testWho, Via: "token:test"}, `"done":false`},
		{"nothing to do", "DELETE", room + "/hold", "", "", "act", adminweb.Unchanged, 409,
			&adminweb.ActRequest{Act: adminweb.ActLift, Room: ct.ClinicalOK, As: testWho, Via: "token:test"}, `"error"`},
		{"a reason naming a patient", "POST", room + "/hold", js, `{"reason":"complaint re ` + ct.NHSNumberSpaced + `"}`, "act", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActHold, Room: ct.ClinicalOK, Reason: "complaint re " + ct.NHSNumberSpaced, As: testWho, Via: "token:test"}, "complaint re [NHS number removed]"},
		{"without the act scope", "POST", room + "/hold", js, `{"reason":"x"}`, "read export", 0, 403, nil, ""},
		{"no reason", "POST", room + "/hold", js, `{}`, "act", 0, 400, nil, "give the hold's reason"},
		{"no body", "POST", room + "/hold", "", "", "act", 0, 400, nil, "send the hold's reason as JSON"},
		{"an empty reason", "POST", room + "/hold", js, `{"reason":"   "}`, "act", 0, 400, nil, "give the reason"},
		{"a reason too long", "POST", room + "/hold", js, `{"reason":"` + strings.Repeat("é", adminweb.MaxReason+1) + `"}`, "act", 0, 400, nil, "too long"},
		{"control characters", "POST", room + "/hold", js, `{"reason":"a\u0000b"}`, "act", 0, 400, nil, "control characters"},
		{"a body too large", "POST", room + "/hold", js, `{"reason":"` + strings.Repeat("a", 5000) + `"}`, "act", 0, 400, nil, "too large"},
		{"an unknown field", "POST", room + "/hold", js, `{"reason":"x","until":"2027"}`, "act", 0, 400, nil, "not the JSON"},
		{"two values", "POST", room + "/hold", js, `{"reason":"x"}{"reason":"y"}`, "act", 0, 400, nil, "not the JSON"},
		{"not JSON", "POST", room + "/hold", "application/x-www-form-urlencoded", `reason=x`, "act", 0, 400, nil, "application/json"},
		{"a reason on a lift", "DELETE", room + "/hold", js, `{"reason":"x"}`, "act", 0, 400, nil, "only when placing"},
		{"a malformed room", "POST", adminweb.APIPrefix + "/rooms/ward7/review", "", "", "act", 0, 400, nil, "not a room ID"},
		{"a huge room", "POST", adminweb.APIPrefix + "/rooms/!" + strings.Repeat("a", 300) + ":a.test/review", "", "", "act", 0, 400, nil, "not a room ID"},
		{"an unknown parameter", "POST", room + "/review?force=1", "", "", "act", 0, 400, nil, "unknown parameter"},
		{"a huge query", "POST", room + "/review?from=" + strings.Repeat("9", 300), "", "", "act", 0, 400, nil, "too long"},
		{"the wrong method", "PUT", room + "/hold", js, `{"reason":"x"}`, "act", 0, 405, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acts.outcome = c.outcome
			code, body := send(t, h, c.method, c.path, c.ctype, c.body, "Authorization", "Bearer "+c.scopes, actingHeader, testWho)
			if code != c.want || !strings.Contains(body, c.wantBody) {
				t.Errorf("%d %s; want %d with %q", code, body, c.want, c.wantBody)
			}
			asked := acts.take()
			switch {
			case c.wantAsked == nil && len(asked) > 0:
				t.Errorf("the bot was asked %+v; want nothing asked", asked)
			case c.wantAsked != nil && (len(asked) != 1 || asked[0] != *c.wantAsked):
				t.Errorf("the bot was asked %+v; want %+v", asked, *c.wantAsked)
			}
		})
	}
}

// TestActWithoutActions: a server built to read only refuses every act.
func TestActWithoutActions(t *testing.T) {
	h := withActing(seededServer(t))
	code, body := send(t, h, "POST", adminweb.APIPrefix+"/rooms/"+url.PathEscape(ct.ClinicalOK)+"/review", "", "", "Authorization", "Bearer act")
	if code != http.StatusForbidden || !strings.Contains(body, "does not act") {
		t.Errorf("%d %s", code, body)
	}
}

// TestRoomPageForms: the room's page carries the hold (or lift) and
// review forms with the CSRF field; posted, each acts as the signed-in
// IG admin and shows the room again with what came of it; a reason that
// cannot be one is refused before anything is asked.
func TestRoomPageForms(t *testing.T) {
	acts := &fakeActs{}
	h := withActing(seededServerActing(t, acts))
	csrf := `name="csrf" value="` + testCSRF + `"`
	_, ok := page(t, h, roomPath(ct.ClinicalOK))
	for _, w := range []string{`id="hold-form"`, `action="/_caldicott/ui/rooms/%21clinok:a.test/hold"`, `id="review-form"`, csrf, `maxlength="500"`} {
		if !strings.Contains(ok, w) {
			t.Errorf("the clinical room's page lacks %q", w)
		}
	}
	_, held := page(t, h, roomPath(ct.ClinicalBad))
	if !strings.Contains(held, `id="hold-lift-form"`) || strings.Contains(held, `id="hold-form"`) {
		t.Errorf("the held room's page offers no lift, or a second hold")
	}
	if _, social := page(t, h, roomPath(ct.Social)); strings.Contains(social, `id="review-form"`) {
		t.Errorf("a social room's page offers a membership review")
	}

	cases := []struct {
		name, path, reason string
		outcome            adminweb.Outcome
		want               int
		wantAsked          *adminweb.ActRequest
		wantBody           string
	}{
		{"a hold", roomPath(ct.ClinicalOK) + "/hold", "complaint  2026/114", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActHold, Room: ct.ClinicalOK, Reason: "complaint 2026/114", As: testWho, Via: adminweb.ViaPages}, `id="act-result" role="status" class="ok">the bot&#39;s words for hold complaint 2026/114`},
		{"a lift", roomPath(ct.ClinicalBad) + "/hold/lift", "", adminweb.Done, 200,
			&adminweb.ActRequest{Act: adminweb.ActLift, Room: ct.ClinicalBad, As: testWho, Via: adminweb.ViaPages}, `class="ok">the bot&#39;s words for lift`},
		{"a review refused", roomPath(ct.ClinicalOK) + "/review", "", adminweb.Refused, 403,
			&adminweb.ActRequest{Act: adminweb.ActReview, Room: ct.ClinicalOK, As: testWho, Via: adminweb.ViaPages}, `class="bad">the bot&#39;s words for review`},
		{"nothing to do", roomPath(ct.ClinicalOK) + "/review", "", adminweb.Unchanged, 409,
			&adminweb.ActRequest{Act: adminweb.ActReview, Room: ct.ClinicalOK, As: testWho, Via: adminweb.ViaPages}, `id="period-form"`},
		{"an unknown room", roomPath("!nowhere:a.test") + "/review", "", adminweb.Unknown, 404,
			&adminweb.ActRequest{Act: adminweb.ActReview, Room: "!nowhere:a.test", As: testWho, Via: adminweb.ViaPages}, "no record"},
		{"no reason", roomPath(ct.ClinicalOK) + "/hold", "  ", 0, 400, nil, `class="bad">give the reason`},
		{"a reason too long", roomPath(ct.ClinicalOK) + "/hold", strings.Repeat("x", adminweb.MaxReason+1), 0, 400, nil, "too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acts.outcome = c.outcome
			form := url.Values{"csrf": {testCSRF}, "reason": {c.reason}}.Encode()
			code, body := send(t, h, "POST", c.path, "application/x-www-form-urlencoded", form, sessionHeader, "ok")
			if code != c.want || !strings.Contains(body, c.wantBody) {
				t.Errorf("%d; want %d with %q\n%s", code, c.want, c.wantBody, body)
			}
			if m := periodAction.FindStringSubmatch(body); c.want != 404 && m == nil {
				t.Errorf("no period form in the answer")
			} else if m != nil && (strings.HasSuffix(m[1], "/hold") || strings.HasSuffix(m[1], "/lift") || strings.HasSuffix(m[1], "/review")) {
				t.Errorf("the answer's period form points at the act's path %s, not the room's page", m[1])
			}
			asked := acts.take()
			switch {
			case c.wantAsked == nil && len(asked) > 0:
				t.Errorf("the bot was asked %+v; want nothing asked", asked)
			case c.wantAsked != nil && (len(asked) != 1 || asked[0] != *c.wantAsked):
				t.Errorf("the bot was asked %+v; want %+v", asked, *c.wantAsked)
			}
		})
	}
	if code, _ := send(t, h, "POST", roomPath(ct.ClinicalOK)+"/hold", "application/x-www-form-urlencoded", "reason=x&csrf="+testCSRF); code != http.StatusUnauthorized || len(acts.take()) > 0 {
		t.Errorf("a form without a session: %d", code)
	}
}
