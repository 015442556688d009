package directory

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type scimClient struct {
	t   *testing.T
	srv *httptest.Server
}

func (c scimClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

const jane = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "userName":"jane.doe@trust-a.nhs.uk","displayName":"Jane Doe","title":"Staff Nurse","active":true,
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Ward 7","employeeNumber":"NMC 12A3456B"}}`

func TestSCIMUsers(t *testing.T) {
	st := openStore(t)
	h, err := NewSCIMServer(&SCIMUsers{Store: st, OwnServer: ownServer})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := scimClient{t, srv}
	janeID := "@jane.doe:" + ownServer
	janePath := "/v2/Users/" + url.PathEscape(janeID)

	code, body := c.do("POST", "/v2/Users", jane)
	if code != 201 || body["id"] != janeID || body["active"] != true {
		t.Fatalf("create: %d %v", code, body)
	}
	rec, err := st.Staff(t.Context(), janeID)
	if err != nil || rec.Name != "Jane Doe" || rec.Role != "Staff Nurse" || rec.Team != "Ward 7" || rec.Registration != "NMC 12A3456B" || rec.Status != "active" || rec.Source != "scim" {
		t.Fatalf("stored = %+v %v", rec, err)
	}
	if code, _ := c.do("POST", "/v2/Users", jane); code != 409 {
		t.Fatalf("duplicate create: %d", code)
	}
	if got := directoryAudit(t, st); len(got) != 1 || got[0] != "scim; SCIM POST: directory records of 1 person changed: 1 added, 0 status changed, 0 other details changed; "+janeID {
		t.Fatalf("create audited as %q", got)
	}

	code, body = c.do("GET", "/v2/Users?filter="+url.QueryEscape(`userName eq "jane.doe@trust-a.nhs.uk"`), "")
	if code != 200 || body["totalResults"] != float64(1) {
		t.Fatalf("filter: %d %v", code, body)
	}
	code, body = c.do("GET", "/v2/Users?filter="+url.QueryEscape(`userName eq "nobody@trust-a.nhs.uk"`), "")
	if code != 200 || body["totalResults"] != float64(0) {
		t.Fatalf("filter for nobody: %d %v", code, body)
	}

	replaced := strings.Replace(jane, `"title":"Staff Nurse"`, `"title":"Ward Sister"`, 1)
	if code, body := c.do("PUT", janePath, replaced); code != 200 || body["title"] != "Ward Sister" {
		t.Fatalf("replace: %d %v", code, body)
	}
	// Sent again unchanged, it changes nothing and is not audited.
	if code, _ := c.do("PUT", janePath, replaced); code != 200 {
		t.Fatalf("unchanged replace: %d", code)
	}

	// Entra ID disables an account with a string "False".
	code, body = c.do("PATCH", janePath, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	if code != 200 || body["active"] != false {
		t.Fatalf("patch active=False: %d %v", code, body)
	}
	if rec, _ := st.Staff(t.Context(), janeID); rec.Status != "suspended" {
		t.Fatalf("after patch: %+v", rec)
	}
	if changed := statusChanges(t, st); len(changed) != 1 || changed[0] != janeID {
		t.Fatalf("change not journalled as a change of standing: %v", changed)
	}
	// Okta sends a path-less replace with an object.
	if code, body := c.do("PATCH", janePath, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}`); code != 200 || body["active"] != true {
		t.Fatalf("patch active=true: %d %v", code, body)
	}
	if changed := statusChanges(t, st); len(changed) != 2 || changed[1] != janeID {
		t.Fatalf("reactivation not journalled as a change of standing: %v", changed)
	}

	if code, _ := c.do("DELETE", janePath, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if rec, _ := st.Staff(t.Context(), janeID); rec.Status != "left" {
		t.Fatalf("deleted person = %+v; want kept as left", rec)
	}
	if changed := statusChanges(t, st); len(changed) != 3 {
		t.Fatalf("deletion not journalled as a change of standing: %v", changed)
	}
	// Each change is one audit entry by user ID, and one journal row.
	audit := directoryAudit(t, st)
	var via []string
	for _, a := range audit {
		if !strings.HasPrefix(a, "scim; SCIM ") || !strings.HasSuffix(a, "; "+janeID) || strings.Contains(a, "Jane") || strings.Contains(a, "Ward") {
			t.Errorf("audit entry %q", a)
		}
		via = append(via, strings.Fields(a)[2])
	}
	if got := strings.Join(via, " "); got != "POST: PUT: PATCH: PATCH: DELETE:" {
		t.Fatalf("audited requests: %s", got)
	}
	if got := strings.Join(journal(t, st), ", "); got != janeID+" added, "+janeID+" updated, "+janeID+" status, "+janeID+" status, "+janeID+" status" {
		t.Fatalf("journal: %s", got)
	}
	if code, body := c.do("GET", janePath, ""); code != 404 || body["status"] != "404" {
		t.Fatalf("get after delete: %d %v", code, body)
	}
}

func TestSCIMBadInput(t *testing.T) {
	st := openStore(t)
	h, _ := NewSCIMServer(&SCIMUsers{Store: st, OwnServer: ownServer})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := scimClient{t, srv}
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantType                 string
	}{
		{"not JSON", "POST", "/v2/Users", `{"userName":`, 400, "invalidSyntax"},
		{"no userName", "POST", "/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"X"}`, 400, ""},
		{"bad registration", "POST", "/v2/Users", strings.Replace(jane, "NMC 12A3456B", "NMC 1", 1), 400, "invalidValue"},
		{"Matrix ID of another server", "POST", "/v2/Users", strings.Replace(jane, `"jane.doe@trust-a.nhs.uk"`, `"@jane:matrix.org"`, 1), 400, "invalidValue"},
		{"bad filter", "GET", "/v2/Users?filter=" + url.QueryEscape(`userName eq`), "", 400, "invalidFilter"},
		{"unknown user", "GET", "/v2/Users/" + url.PathEscape("@ghost:"+ownServer), "", 404, ""},
		{"patch unknown op", "PATCH", "/v2/Users/" + url.PathEscape("@ghost:"+ownServer), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := c.do(tt.method, tt.path, tt.body)
			wantSCIMError(t, code, body, tt.wantCode)
			if tt.wantType != "" && body["scimType"] != tt.wantType {
				t.Fatalf("scimType = %v, want %s (%v)", body["scimType"], tt.wantType, body)
			}
		})
	}
	if counts, _ := st.StaffCounts(t.Context()); len(counts) != 0 {
		t.Fatalf("bad input stored something: %v", counts)
	}
	if a, j := directoryAudit(t, st), journal(t, st); len(a)+len(j) != 0 {
		t.Fatalf("bad input audited %q, journalled %q", a, j)
	}
}

// wantSCIMError fails unless a reply has the status wanted and is a SCIM
// error message.
func wantSCIMError(t *testing.T, code int, body map[string]any, wantCode int) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("status %d, want %d: %v", code, wantCode, body)
	}
	schemas, _ := body["schemas"].([]any)
	if len(schemas) == 0 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Fatalf("not a SCIM error: %v", body)
	}
}
