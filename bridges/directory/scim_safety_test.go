package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

const legacyDomain = "legacy.trust-a.nhs.uk"

// scimUser is a minimal SCIM create body.
func scimUser(userName, name string, active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"displayName":%q,"active":%v}`, userName, name, active)
}

func newSCIM(t *testing.T, u *SCIMUsers) scimClient {
	t.Helper()
	h, err := NewSCIMServer(u)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return scimClient{t, srv}
}

// TestSCIMNoTakeover: a SCIM create never takes over a person another source
// manages, nor a leaver's account for someone else, and a userName on a
// domain that is not the trust's is refused. The first case is the forgery
// measured in issue 18: it answered 201 and made the CSV-sourced IG admin
// "Not Iris", suspended, source scim.
func TestSCIMNoTakeover(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	igadmin := "@igadmin:" + ownServer
	iris := policy.StaffEntry{UserID: igadmin, Name: "Iris Green", Role: "IG Lead", Status: policy.StatusActive}
	if _, err := Apply(ctx, st, []policy.StaffEntry{iris}, csvImport, guard, false); err != nil {
		t.Fatal(err)
	}
	c := newSCIM(t, &SCIMUsers{Store: st, OwnServer: ownServer, UPNDomains: []string{legacyDomain}})
	// A SCIM-provisioned leaver, to be given to nobody else.
	if code, body := c.do("POST", "/v2/Users", scimUser("old.hand@"+ownServer, "Old Hand", true)); code != 201 {
		t.Fatalf("provision old.hand: %d %v", code, body)
	}
	if code, _ := c.do("DELETE", "/v2/Users/"+url.PathEscape("@old.hand:"+ownServer), ""); code != 204 {
		t.Fatalf("old.hand leaves: %d", code)
	}
	before, _ := st.Staff(ctx, igadmin)

	tests := []struct {
		name, body string
		wantCode   int
		wantDetail string
	}{
		// As written in the issue (without "schemas", which the SCIM library requires).
		{"issue 18 forgery as written", `{"userName": "igadmin@evil.example", "displayName": "Not Iris", "active": false}`, 400, ""},
		{"issue 18 forgery: IG admin's localpart on another domain", scimUser("igadmin@evil.example", "Not Iris", false), 400, "evil.example, which is not this trust's (trust-a.nhs.uk, legacy.trust-a.nhs.uk); if the domain belongs to the trust, add it to directory.scim.upn_domains"},
		{"subdomain of the trust's is not the trust's", scimUser("igadmin@evil."+ownServer, "Not Iris", false), 400, "not this trust's"},
		{"IG admin's UPN on the trust's domain: another source's record", scimUser("igadmin@"+ownServer, "Not Iris", false), 409, "from another source (csv)"},
		{"the same in capitals", scimUser("IGAdmin@Trust-A.NHS.UK", "Not Iris", false), 409, "another source"},
		{"IG admin's Matrix ID", scimUser(igadmin, "Not Iris", false), 409, "another source"},
		{"IG admin's localpart on a configured UPN domain", scimUser("igadmin@"+legacyDomain, "Not Iris", true), 409, "another source"},
		{"a leaver's account for another userName", scimUser("old.hand@"+legacyDomain, "New Hand", true), 409, "belonged to someone else"},
		{"a bare localpart", scimUser("igadmin", "Not Iris", true), 400, "neither a Matrix user ID"},
		{"a Matrix ID of another server", scimUser("@igadmin:evil.example", "Not Iris", true), 400, "not on this trust's server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := c.do("POST", "/v2/Users", tt.body)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %v", code, tt.wantCode, body)
			}
			if detail, _ := body["detail"].(string); !strings.Contains(detail, tt.wantDetail) {
				t.Fatalf("detail %q lacks %q", detail, tt.wantDetail)
			}
			if after, err := st.Staff(ctx, igadmin); err != nil || after != before {
				t.Fatalf("IG admin's record changed: %+v → %+v (%v)", before, after, err)
			}
		})
	}
	if changed := statusChanges(t, st); len(changed) != 1 || changed[0] != "@old.hand:"+ownServer {
		t.Fatalf("standing changes journalled: %v", changed)
	}
	for _, a := range directoryAudit(t, st) {
		if strings.Contains(a, igadmin) && strings.HasPrefix(a, "scim") {
			t.Fatalf("SCIM audited a change to the IG admin: %q", a)
		}
	}

	// What may go ahead: a new starter on a configured domain, and the
	// leaver back under their own userName.
	if code, body := c.do("POST", "/v2/Users", scimUser("new.starter@"+legacyDomain, "New Starter", true)); code != 201 || body["id"] != "@new.starter:"+ownServer {
		t.Fatalf("new starter on a UPN domain: %d %v", code, body)
	}
	if code, body := c.do("POST", "/v2/Users", scimUser("old.hand@"+ownServer, "Old Hand", true)); code != 201 {
		t.Fatalf("leaver rehired under their own userName: %d %v", code, body)
	}
	if rec, _ := st.Staff(ctx, "@old.hand:"+ownServer); rec.Status != "active" {
		t.Fatalf("rehired: %+v", rec)
	}
}

// TestSCIMServerNameWithPort: on a server named with a port, the UPN domain
// is its host.
func TestSCIMServerNameWithPort(t *testing.T) {
	st := openStore(t)
	c := newSCIM(t, &SCIMUsers{Store: st, OwnServer: "127.0.0.11:8448"})
	if code, body := c.do("POST", "/v2/Users", scimUser("jane@127.0.0.11", "Jane Doe", true)); code != 201 || body["id"] != "@jane:127.0.0.11:8448" {
		t.Fatalf("%d %v", code, body)
	}
	if code, body := c.do("POST", "/v2/Users", scimUser("john@127.0.0.12", "John Doe", true)); code != 400 {
		t.Fatalf("another host: %d %v", code, body)
	}
}

// TestSCIMOversizedAndUnknown: unknown attributes and huge values get a
// clear 400 (or 413) naming what is wrong, and nothing is stored or changed.
func TestSCIMOversizedAndUnknown(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c := newSCIM(t, &SCIMUsers{Store: st, OwnServer: ownServer})
	janeID := "@jane.doe:" + ownServer
	janePath := "/v2/Users/" + url.PathEscape(janeID)
	if code, body := c.do("POST", "/v2/Users", jane); code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	before, _ := st.Staff(ctx, janeID)
	auditBefore, journalBefore := len(directoryAudit(t, st)), len(journal(t, st))
	long := strings.Repeat("x", 2000)
	emails := make([]string, 150)
	for i := range emails {
		emails[i] = fmt.Sprintf(`{"value":"e%d@%s"}`, i, ownServer)
	}
	ops := make([]string, 150)
	for i := range ops {
		ops[i] = `{"op":"replace","path":"title","value":"x"}`
	}
	patch := func(ops ...string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
	}
	user := func(extra string) string {
		return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new@` + ownServer + `","displayName":"New Person",` + extra + `}`
	}
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantDetail               string
	}{
		{"unknown attribute", "POST", "/v2/Users", user(`"favouriteColour":"blue"`), 400, `unknown attribute "favouriteColour"`},
		{"unknown extension", "POST", "/v2/Users", user(`"urn:example:custom:2.0:User":{"x":"y"}`), 400, `unknown attribute "urn:example:custom:2.0:User"`},
		{"unknown enterprise attribute", "POST", "/v2/Users", user(`"` + enterpriseURI + `":{"badge":"1"}`), 400, `:badge"`},
		{"unknown sub-attribute", "POST", "/v2/Users", user(`"name":{"givenName":"N","shoeSize":"9"}`), 400, `"name.shoeSize"`},
		{"huge value of an attribute not stored", "POST", "/v2/Users", user(`"nickName":"` + long + `"`), 400, `"nickName" is 2000 bytes long`},
		{"title over the stored bound", "POST", "/v2/Users", user(`"title":"` + strings.Repeat("t", 300) + `"`), 400, "role is 300 bytes long"},
		{"too many values", "POST", "/v2/Users", user(`"emails":[` + strings.Join(emails, ",") + `]`), 400, "150 values"},
		{"huge userName", "POST", "/v2/Users", scimUser(strings.Repeat("a", 300)+"@"+ownServer, "A", true), 400, "userName is"},
		{"body over 1 MiB", "POST", "/v2/Users", user(`"nickName":"` + strings.Repeat("x", maxSCIMBody) + `"`), 413, "over 1048576 bytes"},
		{"PUT with an unknown attribute", "PUT", janePath, strings.Replace(jane, `"active":true`, `"active":false,"shadowAdmin":true`, 1), 400, `unknown attribute "shadowAdmin"`},
		{"PATCH of an unknown path", "PATCH", janePath, patch(`{"op":"replace","path":"isAdmin","value":true}`), 400, `unknown attribute "isAdmin"`},
		{"PATCH with an unknown key", "PATCH", janePath, patch(`{"op":"replace","value":{"active":false,"isAdmin":true}}`), 400, `unknown attribute "isAdmin"`},
		{"PATCH with a huge value", "PATCH", janePath, patch(`{"op":"replace","path":"displayName","value":"` + long + `"}`), 400, "2000 bytes long"},
		{"PATCH with too many operations", "PATCH", janePath, patch(ops...), 400, "150 operations"},
		{"PATCH of a huge path", "PATCH", janePath, patch(`{"op":"replace","path":"` + long + `","value":"x"}`), 400, "PATCH path is 2000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := c.do(tt.method, tt.path, tt.body)
			wantSCIMError(t, code, body, tt.wantCode)
			if detail, _ := body["detail"].(string); !strings.Contains(detail, tt.wantDetail) || len(detail) > 400 {
				t.Fatalf("detail %q lacks %q (or is long)", detail, tt.wantDetail)
			}
		})
	}
	if after, _ := st.Staff(ctx, janeID); after != before {
		t.Fatalf("bad input changed the record: %+v → %+v", before, after)
	}
	if _, err := st.Staff(ctx, "@new:"+ownServer); err == nil {
		t.Fatal("bad input created someone")
	}
	if a, j := len(directoryAudit(t, st)), len(journal(t, st)); a != auditBefore || j != journalBefore {
		t.Fatalf("bad input audited or journalled: %d→%d, %d→%d", auditBefore, a, journalBefore, j)
	}
	// The usual providers' bodies still pass: Entra ID's create with its
	// default attribute mappings (booleans as strings, as Entra sends them), ...
	entra := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	 "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"entra.user@` + ownServer + `","active":true,"displayName":"Entra User",
	 "title":"Staff Nurse","preferredLanguage":"en-GB","userType":"Member","nickName":"EU",
	 "name":{"formatted":"Entra User","familyName":"User","givenName":"Entra"},
	 "emails":[{"primary":true,"type":"work","value":"entra.user@` + ownServer + `"}],
	 "phoneNumbers":[{"type":"work","value":"01234 567890"},{"type":"mobile","value":"07700 900000"}],
	 "addresses":[{"type":"work","formatted":"1 Hospital Road","streetAddress":"1 Hospital Road","locality":"Leeds","region":"West Yorkshire","postalCode":"LS1 1AA","country":"GB","primary":true}],
	 "roles":[{"primary":"True","type":"WindowsAzureActiveDirectoryRole","display":"Nurse","value":"Nurse"}],
	 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"NMC 12A3456B","department":"Ward 7","costCenter":"W7","organization":"Trust A","division":"Medicine","manager":{"value":"@boss:` + ownServer + `"}}}`
	if code, body := c.do("POST", "/v2/Users", entra); code != 201 {
		t.Fatalf("Entra ID create: %d %v", code, body)
	}
	// ... and Entra ID's PATCH of
	// emails[type eq "work"].value and of the enterprise department.
	if code, body := c.do("PATCH", janePath, patch(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"jane@`+ownServer+`"}`, `{"op":"Replace","path":"`+enterpriseURI+`:department","value":"Ward 8"}`)); code != 200 {
		t.Fatalf("Entra ID patch: %d %v", code, body)
	}
	if rec, _ := st.Staff(ctx, janeID); rec.Team != "Ward 8" {
		t.Fatalf("department not patched: %+v", rec)
	}
}

// TestSCIMInternalErrorsStayInside: when the database fails, the caller
// gets a generic 500 without the database's words.
func TestSCIMInternalErrorsStayInside(t *testing.T) {
	st := openStore(t)
	c := newSCIM(t, &SCIMUsers{Store: st, OwnServer: ownServer})
	if code, _ := c.do("POST", "/v2/Users", jane); code != 201 {
		t.Fatal("create")
	}
	st.Close()
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/v2/Users", scimUser("john@"+ownServer, "John", true)},
		{"GET", "/v2/Users", ""},
		{"GET", "/v2/Users/" + url.PathEscape("@jane.doe:"+ownServer), ""},
		{"DELETE", "/v2/Users/" + url.PathEscape("@jane.doe:"+ownServer), ""},
		{"PATCH", "/v2/Users/" + url.PathEscape("@jane.doe:"+ownServer), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`},
	} {
		code, body := c.do(req.method, req.path, req.body)
		raw, _ := json.Marshal(body)
		if code != 500 || !strings.Contains(string(raw), "internal error") {
			t.Errorf("%s %s: %d %s", req.method, req.path, code, raw)
		}
		for _, leak := range []string{"sql", "database", "staff", "closed", "@jane"} {
			if strings.Contains(strings.ToLower(string(raw)), strings.ToLower(leak)) {
				t.Errorf("%s %s: the reply says %q: %s", req.method, req.path, leak, raw)
			}
		}
	}
}

// TestSCIMRemovalGuard: SCIM removals arrive one per request; counted over
// the window against active staff, the one beyond the fraction is refused
// with nothing written, journalled or signalled (so nothing is published as
// a leaver), the refusal is audited and reported once, and removals go
// through again after an IG admin's confirmation or once the window passes.
func TestSCIMRemovalGuard(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	type report struct {
		user    string
		removed int
	}
	var held []report
	c := newSCIM(t, &SCIMUsers{
		Store: st, OwnServer: ownServer, Guard: Guard{MaxFraction: 0.1, MinRemovals: 2, Window: time.Hour},
		Held: func(u string, h *HeldError) { held = append(held, report{u, h.Removed}) },
	})
	id := func(i int) string { return fmt.Sprintf("@u%02d:%s", i, ownServer) }
	path := func(i int) string { return "/v2/Users/" + url.PathEscape(id(i)) }
	for i := range 20 {
		if code, body := c.do("POST", "/v2/Users", scimUser(fmt.Sprintf("u%02d@%s", i, ownServer), "U", true)); code != 201 {
			t.Fatalf("provision %d: %d %v", i, code, body)
		}
	}
	disable := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	removeBy := []func(i int) (int, map[string]any){
		func(i int) (int, map[string]any) { return c.do("DELETE", path(i), "") },
		func(i int) (int, map[string]any) { return c.do("PATCH", path(i), disable) },
		func(i int) (int, map[string]any) {
			return c.do("PUT", path(i), scimUser(fmt.Sprintf("u%02d@%s", i, ownServer), "U", false))
		},
	}
	// 10% of 20 is 2: the first two go through, whatever the verb.
	for i := range 2 {
		if code, body := removeBy[i](i); code/100 != 2 {
			t.Fatalf("removal %d: %d %v", i, code, body)
		}
	}
	// A suspended person's deletion is no removal of active staff: not counted.
	if code, body := c.do("DELETE", path(1), ""); code != 204 {
		t.Fatalf("deleting a suspended person: %d %v", code, body)
	}
	journalled := len(journal(t, st))
	// The third, by each verb, is refused; the person stays active.
	for i, remove := range removeBy {
		code, body := remove(2 + i)
		detail, _ := body["detail"].(string)
		if code != 403 || !strings.Contains(detail, "3 of 20 active staff") || !strings.Contains(detail, "!policy directory confirm") {
			t.Fatalf("removal beyond the limit (verb %d): %d %v", i, code, body)
		}
		if rec, _ := st.Staff(ctx, id(2+i)); rec.Status != "active" {
			t.Fatalf("refused removal written: %+v", rec)
		}
	}
	if j := len(journal(t, st)); j != journalled {
		t.Fatalf("refused removals journalled: %v", journal(t, st)[journalled:])
	}
	if changed := statusChanges(t, st); len(changed) != 3 {
		t.Fatalf("journalled as changes of standing (published as leavers): %v", changed)
	}
	if len(held) != 1 || held[0].user != id(2) || held[0].removed != 3 {
		t.Fatalf("hold reported %v; want once, for the first refusal", held)
	}
	if n := auditCount(t, st, store.ActionDirectoryHeld); n != 3 {
		t.Fatalf("%d refusals audited, want 3", n)
	}
	heldIDs := func() string {
		hs, err := st.HeldRemovals(ctx, "scim", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hs {
			out = append(out, h.UserID+" "+h.Status)
		}
		return strings.Join(out, ", ")
	}
	if got := heldIDs(); got != id(2)+" left, "+id(3)+" suspended, "+id(4)+" suspended" {
		t.Fatalf("held: %s", got)
	}
	// Other changes still go through while removals are held; one to a
	// person whose removal is held means the identity provider has spoken
	// since, so confirming will not apply that removal.
	now = now.Add(time.Second)
	if code, body := c.do("PATCH", path(3), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Nurse"}]}`); code != 200 {
		t.Fatalf("non-removal while held: %d %v", code, body)
	}

	// An IG admin confirms: the held removals are applied, but the one whose
	// record changed since; the guard counts afresh, not counting them.
	now = now.Add(time.Minute)
	res, err := st.ConfirmRemovals(ctx, "scim", time.Time{}, store.DirectoryAuthor{Actor: "@ig:" + ownServer, Via: "confirmed"})
	if err != nil || strings.Join(res.Applied, " ") != id(2)+" "+id(4) || strings.Join(res.Skipped, " ") != id(3) {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	for i, want := range map[int]string{2: "left", 3: "active", 4: "suspended"} {
		if rec, _ := st.Staff(ctx, id(i)); rec.Status != want {
			t.Fatalf("after confirmation %s is %s, want %s", id(i), rec.Status, want)
		}
	}
	if j := journal(t, st); len(j) != journalled+3 || j[journalled+1] != id(2)+" status" || j[journalled+2] != id(4)+" status" {
		t.Fatalf("journal after confirmation: %v", j[journalled:])
	}
	if got := heldIDs(); got != "" {
		t.Fatalf("still held after confirmation: %s", got)
	}
	if _, err := st.ConfirmRemovals(ctx, "scim", time.Time{}, store.DirectoryAuthor{Actor: "@ig:" + ownServer}); err != store.ErrNotFound {
		t.Fatalf("second confirmation: %v", err)
	}
	// 16 active now: one more removal goes through, the second is over 10%.
	if code, body := c.do("DELETE", path(3), ""); code != 204 {
		t.Fatalf("removal after confirmation: %d %v", code, body)
	}
	if code, body := c.do("DELETE", path(5), ""); code != 403 || !strings.Contains(body["detail"].(string), "2 of 16 active staff (12%) would have been removed over SCIM within 1h (1 before it)") {
		t.Fatalf("second removal after confirmation: %d %v", code, body)
	}
	if len(held) != 2 {
		t.Fatalf("a new hold is reported again: %v", held)
	}
	// The window passes: removals go through again, and the hold ends.
	now = now.Add(time.Hour + time.Second)
	if code, body := c.do("DELETE", path(5), ""); code != 204 {
		t.Fatalf("removal after the window: %d %v", code, body)
	}
	if got := heldIDs(); got != "" {
		t.Fatalf("still held after the removal went through: %s", got)
	}
}

func auditCount(t *testing.T, st *store.Store, action string) int {
	t.Helper()
	n := 0
	if err := st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error {
		if e.Action == action {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
