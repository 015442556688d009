package gatekeeper

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// The trust's own staff are looked up in the directory (a real store, as
// the appservice's sync fills it) before they are invited into a clinical
// room; when the directory cannot be read, clinical invitations fail closed.
func TestClientInviteChecksTheDirectory(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: "@bob:trust-a.nhs.uk", Name: "Bob", Status: "active", Source: "csv"},
		{UserID: "@sam:trust-a.nhs.uk", Name: "Sam", Status: "suspended", Source: "csv"},
		{UserID: "@lee:trust-a.nhs.uk", Name: "Lee", Status: "left", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, room, invitee string
		status              int
		err                 string
	}{
		{"active colleague", clinicalRoom, "@bob:trust-a.nhs.uk", 200, ""},
		{"suspended", clinicalRoom, "@sam:trust-a.nhs.uk", 403, "lists their account as suspended"},
		{"left", clinicalRoom, "@lee:trust-a.nhs.uk", 403, "have left the trust"},
		{"not in the directory", clinicalRoom, "@zed:trust-a.nhs.uk", 403, "not in the staff directory of Trust A"},
		{"not in the directory, social room", socialRoom, "@zed:trust-a.nhs.uk", 200, ""},
		{"other trust: its own directory judges", clinicalRoom, "@carol:trust-b.nhs.uk", 200, ""},
	}
	g := newRig(t, rooms, func(s *Settings) { s.Directory = st })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/_matrix/client/v3/rooms/" + tt.room + "/invite"
			body := []byte(fmt.Sprintf(`{"user_id":%q}`, tt.invitee))
			a := g.do(t, http.MethodPost, path, body)
			g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
		})
	}

	clinical := `"initial_state":[{"type":"org.caldicott.policy","content":{"class":"clinical"}},{"type":"m.room.encryption","content":{"algorithm":"m.megolm.v1.aes-sha2"}}]`
	for _, tt := range []struct {
		invitee string
		status  int
		err     string
	}{{"@lee:trust-a.nhs.uk", 403, "have left the trust"}, {"@bob:trust-a.nhs.uk", 200, ""}} {
		body := []byte(fmt.Sprintf(`{"invite":[%q],%s}`, tt.invitee, clinical))
		a := g.do(t, http.MethodPost, "/_matrix/client/v3/createRoom", body)
		g.expect(t, http.MethodPost, "/_matrix/client/v3/createRoom", body, a, tt.status, tt.err)
	}

	// The directory unreadable: clinical invitations of our staff are
	// refused, saying why; other rooms' are not held up.
	down, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "down.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	down.Close()
	g = newRig(t, rooms, func(s *Settings) { s.Directory = down })
	for _, tt := range []struct {
		room   string
		status int
		err    string
	}{{clinicalRoom, 403, "could not check the staff directory"}, {socialRoom, 200, ""}} {
		path := "/_matrix/client/v3/rooms/" + tt.room + "/invite"
		body := []byte(`{"user_id":"@bob:trust-a.nhs.uk"}`)
		a := g.do(t, http.MethodPost, path, body)
		g.expect(t, http.MethodPost, path, body, a, tt.status, tt.err)
	}
	body := []byte(fmt.Sprintf(`{"invite":["@bob:trust-a.nhs.uk"],%s}`, clinical))
	a := g.do(t, http.MethodPost, "/_matrix/client/v3/createRoom", body)
	g.expect(t, http.MethodPost, "/_matrix/client/v3/createRoom", body, a, 403, "could not check the staff directory")
	if n := g.refusals(EndpointClientInvite, ReasonDirectoryUnknown); n != 1 {
		t.Errorf("directory_unavailable refusals counted %v, want 1", n)
	}
}
