package gatekeeper

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Each client refusal on a real Dendrite, before Dendrite sees it: the
// request is answered by the gatekeeper, and Dendrite's own state shows
// nothing happened (no unencrypted, guest-open or mis-powered clinical
// room made, the class, name, display name and membership unchanged, no
// tombstone, no alias); a colleague's join by address reaches the room
// judged; a file retention deleted, or whose message it deleted, is not
// served through the gatekeeper (here it is still on Dendrite's disk,
// which the direct download shows: the executor's deletion is tested
// elsewhere).
func TestEachClientRefusalOnDendrite(t *testing.T) {
	hs, bot := startTrustDendrite(t, "127.0.0.32")
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	proxy, _ := frontDendrite(t, hs, bot, nil, func(s *Settings) { s.Directory, s.Media = st, st })
	alice := hs.RegisterUser(t, "alice", false)
	bob := hs.RegisterUser(t, "bob", false)
	zed := hs.RegisterUser(t, "zed", false) // not in the staff directory
	if err := st.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice", Role: "doctor", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob", Role: "nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	tok := alice.AccessToken
	clinical := createRoom(t, proxy, tok, "clinical", bot)
	if status, out := call(t, "POST", hs.URL+"/_matrix/client/v3/join/"+url.PathEscape(clinical)+"?user_id="+url.QueryEscape(bot), asToken, map[string]any{}); status != 200 {
		t.Fatalf("bot join: %d %v", status, out)
	}
	// Zed and Bob invited on Dendrite directly (as if before the
	// directory changed); the room has an address.
	for _, u := range []string{zed.UserID.String(), bob.UserID.String()} {
		if status, out := call(t, "POST", roomPath(hs.URL, clinical, "/invite"), tok, map[string]any{"user_id": u}); status != 200 {
			t.Fatalf("invite %s: %d %v", u, status, out)
		}
	}
	ward := "#ward:" + hs.ServerName
	if status, out := call(t, "PUT", hs.URL+"/_matrix/client/v3/directory/room/"+url.PathEscape(ward), tok, map[string]any{"room_id": clinical}); status != 200 {
		t.Fatalf("alias: %d %v", status, out)
	}
	membership := func(u string) string {
		_, out := call(t, "GET", roomPath(hs.URL, clinical, "/state/m.room.member/"+url.PathEscape(u)), tok, nil)
		return fmt.Sprint(out["membership"])
	}
	profileName := func() string {
		_, out := call(t, "GET", hs.URL+"/_matrix/client/v3/profile/"+url.PathEscape(alice.UserID.String())+"/displayname", tok, nil)
		return fmt.Sprint(out["displayname"])
	}
	nameBefore := profileName()
	noAlias := func(a string) func() bool {
		return func() bool {
			status, _ := call(t, "GET", hs.URL+"/_matrix/client/v3/directory/room/"+url.PathEscape(a), tok, nil)
			return status == http.StatusNotFound
		}
	}
	clinicalState := []map[string]any{
		{"type": policy.PolicyEventType, "state_key": "", "content": map[string]any{"class": "clinical"}},
		{"type": "m.room.encryption", "state_key": "", "content": map[string]any{"algorithm": policy.MegolmAlgorithm}},
	}
	joinedRooms := func() int {
		_, out := call(t, "GET", hs.URL+"/_matrix/client/v3/joined_rooms", tok, nil)
		rooms, _ := out["joined_rooms"].([]any)
		return len(rooms)
	}
	stateOf := func(evType string) map[string]any {
		_, out := call(t, "GET", roomPath(hs.URL, clinical, "/state/"+evType), tok, nil)
		return out
	}
	before := joinedRooms()

	tests := []struct {
		name, method, path string
		body               any
		want               string
		unchanged          func() bool
		token              string
	}{
		{"a join sent as state by someone not in the directory", "PUT", roomPath(proxy, clinical, "/state/m.room.member/"+url.PathEscape(zed.UserID.String())),
			map[string]any{"membership": "join"}, "not in the staff directory", func() bool { return membership(zed.UserID.String()) == "invite" }, zed.AccessToken},
		{"a clinical room left open to guests by its preset", "POST", proxy + "/_matrix/client/v3/createRoom",
			map[string]any{"preset": "private_chat", "initial_state": clinicalState}, "the private_chat preset makes it can_join", func() bool { return joinedRooms() == before }, ""},
		{"a clinical room with someone above the bot", "POST", proxy + "/_matrix/client/v3/createRoom",
			map[string]any{"initial_state": clinicalState, "power_level_content_override": map[string]any{"users": map[string]any{alice.UserID.String(): 150}}}, "nobody may have a power level above 100", func() bool { return joinedRooms() == before }, ""},
		{"an NHS number in a display name", "PUT", proxy + "/_matrix/client/v3/profile/" + url.PathEscape(alice.UserID.String()) + "/displayname",
			map[string]any{"displayname": "Alice 943 476 5919"}, "display name cannot hold an NHS number", func() bool { return profileName() == nameBefore }, ""},
		{"an NHS number in a room's address", "PUT", proxy + "/_matrix/client/v3/directory/room/" + url.PathEscape("#bed-9434765919:"+hs.ServerName),
			map[string]any{"room_id": clinical}, "address cannot hold an NHS number", noAlias("#bed-9434765919:" + hs.ServerName), ""},
		{"an unencrypted clinical room", "POST", proxy + "/_matrix/client/v3/createRoom",
			map[string]any{"preset": "private_chat", "initial_state": []map[string]any{{"type": policy.PolicyEventType, "state_key": "", "content": map[string]any{"class": "clinical"}}}},
			"encryption must stay on", func() bool { return joinedRooms() == before }, ""},
		{"a clinical room moved to social by its admin", "PUT", roomPath(proxy, clinical, "/state/"+policy.PolicyEventType+"/"),
			map[string]any{"class": "social"}, "IG team's decision", func() bool { return stateOf(policy.PolicyEventType)["class"] == "clinical" }, ""},
		{"a clinical room upgraded by a person", "POST", roomPath(proxy, clinical, "/upgrade"),
			map[string]any{"new_version": "10"}, "must keep Caldicott in it", func() bool { return stateOf("m.room.tombstone")["replacement_room"] == nil }, ""},
		{"an NHS number in a room name", "PUT", roomPath(proxy, clinical, "/state/m.room.name/"),
			map[string]any{"name": "Bed 4 943 476 5919"}, "NHS number", func() bool { return stateOf("m.room.name")["name"] == nil }, ""},
		{"the join rule opened", "PUT", roomPath(proxy, clinical, "/state/m.room.join_rules/"),
			map[string]any{"join_rule": "public"}, "invite only", func() bool { return stateOf("m.room.join_rules")["join_rule"] == "invite" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			who := tok
			if tt.token != "" {
				who = tt.token
			}
			status, out := call(t, tt.method, tt.path, who, tt.body)
			if status != http.StatusForbidden || out["errcode"] != "M_FORBIDDEN" || !strings.Contains(fmt.Sprint(out["error"]), tt.want) {
				t.Fatalf("%d %v; want 403 M_FORBIDDEN saying %q", status, out, tt.want)
			}
			if !tt.unchanged() {
				t.Fatal("Dendrite acted on a request the gatekeeper refused")
			}
		})
	}

	// A colleague's join by the room's address goes to the room judged.
	if status, out := call(t, "POST", proxy+"/_matrix/client/v3/join/"+url.PathEscape(ward)+"?server_name="+url.QueryEscape(hs.ServerName), bob.AccessToken, map[string]any{"reason": "ward round"}); status != 200 || out["room_id"] != clinical {
		t.Fatalf("bob's join by address through the gatekeeper: %d %v", status, out)
	}
	if got := membership(bob.UserID.String()); got != "join" {
		t.Fatalf("bob's membership after joining by address: %s", got)
	}

	// Files: one retention deleted (as the executor's audit entry records
	// it), one whose only message the sweep deleted (its file queued for
	// judgement, as the sweep queues it).
	upload := func(content string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", proxy+"/_matrix/media/v3/upload?filename=scan.png", bytes.NewReader([]byte(content)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "image/png")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var up struct {
			ContentURI string `json:"content_uri"`
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || json.Unmarshal(body, &up) != nil || !strings.HasPrefix(up.ContentURI, "mxc://") {
			t.Fatalf("upload through the gatekeeper: %d %s", resp.StatusCode, body)
		}
		return up.ContentURI
	}
	download := func(base, uri string) int {
		t.Helper()
		server, mediaID, _ := strings.Cut(strings.TrimPrefix(uri, "mxc://"), "/")
		status, _ := call(t, "GET", base+"/_matrix/client/v1/media/download/"+server+"/"+mediaID, tok, nil)
		return status
	}
	deleted, redacted := upload("not really a scan"), upload("not really an x-ray")
	for _, uri := range []string{deleted, redacted} {
		if got := download(proxy, uri); got != 200 {
			t.Fatalf("a live file through the gatekeeper: %d", got)
		}
	}
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: bot, RoomID: clinical, Action: "delete_media", Reason: "expired",
		Detail: `{"hash":"h-scan","media":"` + deleted + `","txn":"t1"}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.MediaIndexBegun(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMediaRefs(ctx, []store.MediaRef{{URI: redacted, RoomID: clinical, EventID: "$xray", Sent: st.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMediaCandidates(ctx, []store.MediaCandidate{{URI: redacted, RoomID: clinical, EventID: "$xray"}}); err != nil {
		t.Fatal(err)
	}
	if got := download(proxy, redacted); got != http.StatusNotFound {
		t.Fatalf("a file whose message retention deleted, through the gatekeeper: %d", got)
	}
	// The gatekeeper reads new deletions at most once per room_state_ttl (5 s).
	deadline := time.Now().Add(15 * time.Second)
	for download(proxy, deleted) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("a file retention deleted is still served through the gatekeeper")
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, uri := range []string{deleted, redacted} {
		if got := download(hs.URL, uri); got != 200 {
			t.Fatalf("direct download: %d (the test's files should still be on Dendrite's disk)", got)
		}
	}
}
