package gatekeeper

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// On a real Dendrite, with the store the appservice shares: a leaver
// another trust published is not invited into a clinical room (Dendrite's
// state holds no membership for them) and the refusal is audited under
// the inviter's account as Dendrite names it; a trust added at run time
// reaches Dendrite with its join until the view is older than
// max_list_age, and is then refused before it.
func TestFederationViewOnDendrite(t *testing.T) {
	ctx := context.Background()
	hs, bot := startTrustDendrite(t, "127.0.0.11")

	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	const leaverID, runtime = "@leaver:127.0.0.12:8448", "127.0.0.14:8448"
	if err := st.SetFederationView(ctx, store.FederationView{
		Servers: []string{"127.0.0.12:8448", runtime},
		Banned:  []store.ListBan{{Entity: leaverID, Reason: "left Trust B"}},
	}); err != nil {
		t.Fatal(err)
	}
	proxy, _ := frontDendrite(t, hs, bot, []string{"127.0.0.12:8448"}, func(s *Settings) {
		s.Directory, s.Records, s.ListConfigured, s.MaxListAge = st, st, true, 72*time.Hour
	})

	alice := hs.RegisterUser(t, "alice", false)
	clinical := createRoom(t, proxy, alice.AccessToken, "clinical", bot)
	if status, out := call(t, "POST", hs.URL+"/_matrix/client/v3/join/"+url.PathEscape(clinical)+"?user_id="+url.QueryEscape(bot), asToken, map[string]any{}); status != 200 {
		t.Fatalf("bot join: %d %v", status, out)
	}
	status, out := call(t, "POST", roomPath(proxy, clinical, "/invite"), alice.AccessToken, map[string]any{"user_id": leaverID})
	if status != 403 || !strings.Contains(fmt.Sprint(out["error"]), "their own trust has told the federation") {
		t.Fatalf("leaver invited through the gatekeeper: %d %v; want 403", status, out)
	}
	if status, out := call(t, "GET", roomPath(hs.URL, clinical, "/state/m.room.member/"+url.PathEscape(leaverID)), alice.AccessToken, nil); status != 404 {
		t.Fatalf("Dendrite's state holds a membership for the leaver: %d %v", status, out)
	}
	audited := false
	_ = st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		audited = audited || (e.Action == ActionRefused && e.Actor == alice.UserID.String() && e.RoomID == clinical && e.Reason == policy.GateListBanned)
		return nil
	})
	if !audited {
		t.Fatal("the refusal is not in the audit log under Alice's account")
	}

	// A make_join from the trust added at run time reaches Dendrite; past
	// max_list_age the gatekeeper refuses it first.
	makeJoin := func() (int, map[string]any) {
		req, _ := http.NewRequest("GET", proxy+"/_matrix/federation/v1/make_join/"+url.PathEscape(clinical)+"/"+url.PathEscape("@carol:"+runtime)+"?ver=10", nil)
		req.Header.Set("Authorization", xMatrix(runtime))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	// Dendrite answers (here 400: the test's X-Matrix names another
	// destination); the gatekeeper's 403 M_FORBIDDEN would mean refused.
	if status, out = makeJoin(); status == http.StatusForbidden || out["errcode"] == "M_FORBIDDEN" {
		t.Fatalf("make_join from a trust added at run time refused by the gatekeeper: %d %v", status, out)
	}
	mu.Lock()
	now = now.Add(73 * time.Hour)
	mu.Unlock()
	if status, out := makeJoin(); status != 403 || !strings.Contains(fmt.Sprint(out["error"]), "member only by that list") {
		t.Fatalf("make_join past max_list_age: %d %v; want 403 federation_list_stale", status, out)
	}
}
