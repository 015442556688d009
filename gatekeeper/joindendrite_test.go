package gatekeeper

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/store"
)

// On a real Dendrite: a stranger (an account of this trust the staff
// directory does not hold), invited into a clinical room behind the
// gatekeeper's back, tries to join through it: the join is refused before
// Dendrite sees it, so the stranger's membership stays an invitation and
// they never see the room; a colleague in the directory joins the same way.
func TestStrangersJoinRefusedOnDendrite(t *testing.T) {
	hs, botID := startTrustDendrite(t, "127.0.0.31")
	alice := hs.RegisterUser(t, "alice", false)
	bob := hs.RegisterUser(t, "bob", false)
	zed := hs.RegisterUser(t, "zed", false)

	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	proxy, _ := frontDendrite(t, hs, botID, nil, func(s *Settings) { s.Directory, s.Media = st, st })

	clinical := createRoom(t, proxy, alice.AccessToken, "clinical", botID)
	if status, out := call(t, "POST", hs.URL+"/_matrix/client/v3/join/"+url.PathEscape(clinical)+"?user_id="+url.QueryEscape(botID), asToken, map[string]any{}); status != 200 {
		t.Fatalf("bot join: %d %v", status, out)
	}
	// The stranger is invited on Dendrite directly (the gatekeeper would
	// have refused the invitation), and so is the colleague.
	for _, who := range []string{zed.UserID.String(), bob.UserID.String()} {
		if status, out := call(t, "POST", roomPath(hs.URL, clinical, "/invite"), alice.AccessToken, map[string]any{"user_id": who}); status != 200 {
			t.Fatalf("invite %s on Dendrite: %d %v", who, status, out)
		}
	}
	// An alias for the room, so the join by alias is judged too.
	alias := "#ward7:" + hs.ServerName
	if status, out := call(t, "PUT", hs.URL+"/_matrix/client/v3/directory/room/"+url.PathEscape(alias), alice.AccessToken, map[string]any{"room_id": clinical}); status != 200 {
		t.Fatalf("alias: %d %v", status, out)
	}

	for _, path := range []string{roomPath(proxy, clinical, "/join"), proxy + "/_matrix/client/v3/join/" + url.PathEscape(alias)} {
		status, out := call(t, "POST", path, zed.AccessToken, map[string]any{})
		if status != 403 || out["errcode"] != "M_FORBIDDEN" || !strings.Contains(fmt.Sprint(out["error"]), "is not in the staff directory of Trust A") {
			t.Fatalf("stranger's join at %s: %d %v; want 403 M_FORBIDDEN naming the directory", path, status, out)
		}
	}
	// Membership did not change: still an invitation, not a join.
	status, out := call(t, "GET", roomPath(hs.URL, clinical, "/state/m.room.member/"+url.PathEscape(zed.UserID.String())), alice.AccessToken, nil)
	if status != 200 || out["membership"] != "invite" {
		t.Fatalf("stranger's membership after the refused joins: %d %v; want invite", status, out)
	}
	// The colleague joins through the gatekeeper, by the alias.
	if status, out := call(t, "POST", proxy+"/_matrix/client/v3/join/"+url.PathEscape(alias), bob.AccessToken, map[string]any{}); status != 200 {
		t.Fatalf("colleague's join through the gatekeeper: %d %v", status, out)
	}
	status, out = call(t, "GET", roomPath(hs.URL, clinical, "/state/m.room.member/"+url.PathEscape(bob.UserID.String())), alice.AccessToken, nil)
	if status != 200 || out["membership"] != "join" {
		t.Fatalf("colleague's membership: %d %v; want join", status, out)
	}
}
