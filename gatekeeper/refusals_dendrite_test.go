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
// nothing happened (no unencrypted clinical room made, the class and the
// name unchanged, no tombstone); a file retention deleted is not served
// through the gatekeeper (here it is still on Dendrite's disk, which the
// direct download shows: the executor's deletion is tested elsewhere).
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
	tok := alice.AccessToken
	clinical := createRoom(t, proxy, tok, "clinical", bot)
	if status, out := call(t, "POST", hs.URL+"/_matrix/client/v3/join/"+url.PathEscape(clinical)+"?user_id="+url.QueryEscape(bot), asToken, map[string]any{}); status != 200 {
		t.Fatalf("bot join: %d %v", status, out)
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
	}{
		{"an unencrypted clinical room", "POST", proxy + "/_matrix/client/v3/createRoom",
			map[string]any{"preset": "private_chat", "initial_state": []map[string]any{{"type": policy.PolicyEventType, "state_key": "", "content": map[string]any{"class": "clinical"}}}},
			"encryption must stay on", func() bool { return joinedRooms() == before }},
		{"a clinical room moved to social by its admin", "PUT", roomPath(proxy, clinical, "/state/"+policy.PolicyEventType+"/"),
			map[string]any{"class": "social"}, "IG team's decision", func() bool { return stateOf(policy.PolicyEventType)["class"] == "clinical" }},
		{"a clinical room upgraded by a person", "POST", roomPath(proxy, clinical, "/upgrade"),
			map[string]any{"new_version": "10"}, "must keep Caldicott in it", func() bool { return stateOf("m.room.tombstone")["replacement_room"] == nil }},
		{"an NHS number in a room name", "PUT", roomPath(proxy, clinical, "/state/m.room.name/"),
			map[string]any{"name": "Bed 4 943 476 5919"}, "NHS number", func() bool { return stateOf("m.room.name")["name"] == nil }},
		{"the join rule opened", "PUT", roomPath(proxy, clinical, "/state/m.room.join_rules/"),
			map[string]any{"join_rule": "public"}, "invite only", func() bool { return stateOf("m.room.join_rules")["join_rule"] == "invite" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(t, tt.method, tt.path, tok, tt.body)
			if status != http.StatusForbidden || out["errcode"] != "M_FORBIDDEN" || !strings.Contains(fmt.Sprint(out["error"]), tt.want) {
				t.Fatalf("%d %v; want 403 M_FORBIDDEN saying %q", status, out, tt.want)
			}
			if !tt.unchanged() {
				t.Fatal("Dendrite acted on a request the gatekeeper refused")
			}
		})
	}

	// A file retention deleted (as the executor's audit entry records it).
	req, _ := http.NewRequest("POST", proxy+"/_matrix/media/v3/upload?filename=scan.png", bytes.NewReader([]byte("not really a scan")))
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
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "{") {
		t.Fatalf("upload through the gatekeeper: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &up); err != nil || !strings.HasPrefix(up.ContentURI, "mxc://") {
		t.Fatalf("upload answer %s", body)
	}
	download := func(base string) int {
		t.Helper()
		server, mediaID, _ := strings.Cut(strings.TrimPrefix(up.ContentURI, "mxc://"), "/")
		status, _ := call(t, "GET", base+"/_matrix/client/v1/media/download/"+server+"/"+mediaID, tok, nil)
		return status
	}
	if got := download(proxy); got != 200 {
		t.Fatalf("a live file through the gatekeeper: %d", got)
	}
	if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: bot, RoomID: clinical, Action: "delete_media", Reason: "expired",
		Detail: `{"hash":"h-scan","media":"` + up.ContentURI + `","txn":"t1"}`}); err != nil {
		t.Fatal(err)
	}
	// The gatekeeper reads new deletions at most once per room_state_ttl (5 s).
	deadline := time.Now().Add(15 * time.Second)
	for download(proxy) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("a file retention deleted is still served through the gatekeeper")
		}
		time.Sleep(250 * time.Millisecond)
	}
	if got := download(hs.URL); got != 200 {
		t.Fatalf("direct download: %d (the test's file should still be on Dendrite's disk)", got)
	}
}
