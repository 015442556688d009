package directory

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"github.com/caldicott/caldicott/policy"
)

// checkEntry: a person the directory takes in is a user of this trust's
// server, with a name and a known status.
func checkEntry(t *testing.T, e policy.StaffEntry, from string) {
	t.Helper()
	uid, err := spec.NewUserID(e.UserID, false)
	if e.UserID == "" || err != nil || string(uid.Domain()) != ownServer {
		t.Fatalf("%s gave a person with user ID %q (%v), not a user of %s", from, e.UserID, err, ownServer)
	}
	if e.Name == "" {
		t.Fatalf("%s gave %s without a name", from, e.UserID)
	}
	if _, ok := policy.ParseStaffStatus(string(e.Status)); !ok {
		t.Fatalf("%s gave %s the status %q", from, e.UserID, e.Status)
	}
	if policy.ValidateRegistration(e.Registration) != nil {
		t.Fatalf("%s gave %s the registration %q, which the directory refuses", from, e.UserID, e.Registration)
	}
}

// FuzzParseCSV checks the reading of any staff file: either every row is
// taken, each a user of this trust's server with a name and a status, no
// one twice; or nothing is, and the error names bad rows by line. What is
// taken, written out again, reads the same.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"user_id,name,status,role,team,registration\n@jane:" + ownServer + ",Jane Doe,active,Staff Nurse,Ward 7,NMC 12A3456B\n@raj:" + ownServer + ",Raj Patel,left,,,\n",
		"\ufeffUser_ID, Name ,STATUS\n@a:" + ownServer + ",\"Doe, Jane\",suspended\n",
		"user_id,name,status\n@a:evil.example,A,active\n,B,active\n@c:" + ownServer + ",,active\n",
		"user_id,name,status\n\"@a:" + ownServer + "\",\"multi\nline\",active\n",
		"user_id,name,status,extra\n",
		"user_id,name\n",
		"",
		"user_id,name,status\n@a:" + ownServer + ",A,active,too many\n\"unterminated",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := ParseCSV(bytes.NewReader(raw), ownServer)
		if err != nil {
			if entries != nil {
				t.Fatalf("an error (%v) and %d people", err, len(entries))
			}
			var ie *ImportError
			if errors.As(err, &ie) {
				if len(ie.Rows) == 0 {
					t.Fatalf("an import error naming no row")
				}
				for _, r := range ie.Rows {
					if r.Line < 2 || r.Msg == "" {
						t.Fatalf("a bad row named as line %d: %q", r.Line, r.Msg)
					}
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range entries {
			checkEntry(t, e, "the CSV")
			if seen[e.UserID] {
				t.Fatalf("%s taken twice", e.UserID)
			}
			seen[e.UserID] = true
		}
		var out bytes.Buffer
		w := csv.NewWriter(&out)
		_ = w.Write([]string{"user_id", "name", "status", "role", "team", "registration"})
		for _, e := range entries {
			_ = w.Write([]string{e.UserID, e.Name, string(e.Status), e.Role, e.Team, e.Registration})
		}
		w.Flush()
		again, err := ParseCSV(&out, ownServer)
		if err != nil || !slices.Equal(again, entries) {
			t.Fatalf("%d people written out read back as %d: %v", len(entries), len(again), err)
		}
	})
}

// FuzzEntryFromSCIM checks the reading of any SCIM user body: a person it
// takes is a user of this trust's server, with a name, active or
// suspended; anything else is a SCIM error, never a half-read person.
func FuzzEntryFromSCIM(f *testing.F) {
	for _, s := range []string{
		jane,
		`{"userName":"@jane.doe:` + ownServer + `","name":{"givenName":"Jane","familyName":"Doe"},"active":"False"}`,
		`{"userName":"igadmin@evil.example","displayName":"Not Iris","active":false}`,
		`{"userName":"","displayName":"Nobody"}`,
		`{"userName":"a b@x","displayName":"Space"}`,
		`{"userName":7}`,
		`{"userName":"jane","name":{"formatted":"  "},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"GMC 1234567"}}`,
	} {
		f.Add([]byte(s))
	}
	u := &SCIMUsers{OwnServer: ownServer}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var attrs scim.ResourceAttributes
		if json.Unmarshal(raw, &attrs) != nil {
			return
		}
		e, userName, err := u.entryFromSCIM(attrs)
		if err != nil {
			if userName != "" {
				t.Fatalf("an error (%v) and a userName %q", err, userName)
			}
			return
		}
		checkEntry(t, e, "the SCIM body")
		if e.Status != policy.StatusActive && e.Status != policy.StatusSuspended {
			t.Fatalf("SCIM set the status %q", e.Status)
		}
		if userName == "" {
			t.Fatalf("%s taken without the userName it came from", e.UserID)
		}
	})
}

// FuzzSetPatchValue checks the placing of a PATCH value by its path: what
// is set is read back at the same path, what is removed is gone, and
// nothing else changes.
func FuzzSetPatchValue(f *testing.F) {
	for _, p := range []string{"title", "name.formatted", "displayName", enterpriseURI + ":department", strings.ToUpper(enterpriseURI) + ":employeeNumber", "a.b.c", ".", enterpriseURI + ":", "\u212a"} {
		f.Add(p, "Ward 7", false)
	}
	f.Fuzz(func(t *testing.T, path, value string, remove bool) {
		attrs := map[string]any{"userName": "jane", "displayName": "Jane", "name": map[string]any{"formatted": "Jane Doe"}}
		before := fmt.Sprint(attrs)
		var v any = value
		if remove {
			v = nil
		}
		setPatchValue(attrs, path, v)
		target, key := attrs, path
		if len(path) > len(enterpriseURI) && strings.EqualFold(path[:len(enterpriseURI)+1], enterpriseURI+":") {
			target, _ = attrs[enterpriseURI].(map[string]any)
			key = path[len(enterpriseURI)+1:]
		} else if parent, sub, ok := strings.Cut(path, "."); ok {
			target, _ = attrs[parent].(map[string]any)
			key = sub
		}
		if target == nil {
			t.Fatalf("setting %q left no object to hold it: %v", path, attrs)
		}
		got, present := target[key]
		switch {
		case remove && present:
			t.Fatalf("removing %q left %v", path, got)
		case !remove && got != value:
			t.Fatalf("setting %q to %q reads back %v (attrs %v, before %s)", path, value, got, attrs, before)
		}
	})
}

// FuzzSCIMServer sends any body as a POST and then as a PATCH of the
// person created, to the SCIM server in front of a real SQLite store, and
// checks the answers: never a server error; a refused request changes
// nothing; a person the store holds after any request is still a valid
// user of this trust's server with a name.
func FuzzSCIMServer(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"Ward Sister"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"displayName":"Jane Roe","active":"True"}}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"displayName"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"someone.else@trust-a.nhs.uk"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b"}]}`,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"` + enterpriseURI + `:department","value":"Ward 9"}]}`,
		jane,
	} {
		f.Add([]byte(s))
	}
	st := openStore(f)
	h, err := NewSCIMServer(&SCIMUsers{Store: st, OwnServer: ownServer})
	if err != nil {
		f.Fatal(err)
	}
	janeID := "@jane.doe:" + ownServer
	janePath := "/v2/Users/" + url.PathEscape(janeID)
	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Jane starts each run as the seed creates her.
		if rec := do(http.MethodPut, janePath, []byte(jane)); rec.Code == http.StatusNotFound {
			if rec := do(http.MethodPost, "/v2/Users", []byte(jane)); rec.Code != http.StatusCreated {
				t.Fatalf("create Jane: %d %s", rec.Code, rec.Body)
			}
		}
		for _, req := range []struct{ method, path string }{{http.MethodPost, "/v2/Users"}, {http.MethodPatch, janePath}} {
			before, _ := st.Staff(t.Context(), janeID)
			rec := do(req.method, req.path, body)
			if rec.Code >= 500 {
				t.Fatalf("%s %s answered %d: %s", req.method, req.path, rec.Code, rec.Body)
			}
			after, err := st.Staff(t.Context(), janeID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Code >= 300 && after != before {
				t.Fatalf("%s refused (%d %s), yet Jane changed from %+v to %+v", req.method, rec.Code, rec.Body, before, after)
			}
			e := policy.StaffEntry{UserID: after.UserID, Name: after.Name, Registration: after.Registration, Status: policy.StaffStatus(after.Status)}
			checkEntry(t, e, req.method+" "+string(body))
			if rec.Code == http.StatusCreated {
				var res struct{ ID string }
				if json.Unmarshal(rec.Body.Bytes(), &res) != nil {
					t.Fatalf("created, answering %s", rec.Body)
				}
				created, err := st.Staff(t.Context(), res.ID)
				if err != nil {
					t.Fatalf("created %q, which the store does not hold: %v", res.ID, err)
				}
				checkEntry(t, policy.StaffEntry{UserID: created.UserID, Name: created.Name, Registration: created.Registration, Status: policy.StaffStatus(created.Status)}, "POST "+string(body))
			}
		}
	})
}
