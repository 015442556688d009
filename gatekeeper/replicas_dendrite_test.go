package gatekeeper

import (
	"net/url"
	"testing"

	"github.com/caldicott/caldicott/policy"
)

// The gatekeeper runs as any number of replicas with nothing shared
// between them but the homeserver (issue 22): a room's move into clinical
// is seen by a replica that judged the same room as social a moment
// before (it never remembers a room that is not clinical), and with one
// replica gone the other goes on judging alone.
func TestGatekeeperReplicas(t *testing.T) {
	w := startWard(t)
	first, _ := frontDendriteServer(t, w.hs, w.bot, []string{"127.0.0.12:8448"}, nil)
	second, _ := frontDendrite(t, w.hs, w.bot, []string{"127.0.0.12:8448"}, nil)
	alice := w.hs.RegisterUser(t, "alice", false)
	carol := w.hs.RegisterUser(t, "carol", false)
	eve := w.outside.RegisterUser(t, "eve", false)
	mallory := w.outside.RegisterUser(t, "mallory", false)

	room := createRoom(t, first.URL, alice.AccessToken, "social", w.bot)
	if status, out := call(t, "POST", w.hs.URL+"/_matrix/client/v3/join/"+url.PathEscape(room)+"?user_id="+url.QueryEscape(w.bot), asToken, map[string]any{}); status != 200 {
		t.Fatalf("bot join: %d %v", status, out)
	}
	// The second replica judges the room as social: an outsider's
	// invitation, which a clinical room would refuse, passes.
	if status, out := call(t, "POST", roomPath(second, room, "/invite"), alice.AccessToken, map[string]any{"user_id": eve.UserID.String()}); status != 200 {
		t.Fatalf("outsider invited into the social room through the second replica: %d %v", status, out)
	}
	// The room becomes clinical (straight on Dendrite, as the appservice
	// writes it), and at once the second replica refuses another outsider.
	if status, out := call(t, "PUT", roomPath(w.hs.URL, room, "/state/"+policy.PolicyEventType+"/"), alice.AccessToken, map[string]any{"class": "clinical"}); status != 200 {
		t.Fatalf("room made clinical: %d %v", status, out)
	}
	if status, out := call(t, "POST", roomPath(second, room, "/invite"), alice.AccessToken, map[string]any{"user_id": mallory.UserID.String()}); status != 403 {
		t.Fatalf("outsider invited through the second replica just after the room became clinical: %d %v; want 403", status, out)
	}
	if status, out := call(t, "POST", roomPath(first.URL, room, "/invite"), alice.AccessToken, map[string]any{"user_id": mallory.UserID.String()}); status != 403 {
		t.Fatalf("outsider invited through the first replica: %d %v; want 403", status, out)
	}
	// One replica gone: the other still passes a colleague and refuses the outsider.
	first.Close()
	if status, out := call(t, "POST", roomPath(second, room, "/invite"), alice.AccessToken, map[string]any{"user_id": carol.UserID.String()}); status != 200 {
		t.Fatalf("colleague invited through the replica left: %d %v", status, out)
	}
	if status, out := call(t, "POST", roomPath(second, room, "/invite"), alice.AccessToken, map[string]any{"user_id": mallory.UserID.String()}); status != 403 {
		t.Fatalf("outsider invited through the replica left: %d %v; want 403", status, out)
	}
}
