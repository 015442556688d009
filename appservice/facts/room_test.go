package facts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// One read of a room's state gives its settings and its joined members
// alike, so a reconciliation asks the homeserver once per room.
func TestRoomAndMembersFromOneRead(t *testing.T) {
	reads := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_matrix/client/v3/rooms/!r:trust/state" {
			t.Errorf("unexpected request %s", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		reads++
		_, _ = w.Write([]byte(`[
			{"type":"m.room.create","state_key":"","sender":"@alice:trust","content":{"room_version":"10","creator":"@alice:trust"}},
			{"type":"m.room.join_rules","state_key":"","sender":"@alice:trust","content":{"join_rule":"invite"}},
			{"type":"m.room.power_levels","state_key":"","sender":"@alice:trust","content":{"users":{"@alice:trust":100}}},
			{"type":"m.room.member","state_key":"@alice:trust","sender":"@alice:trust","content":{"membership":"join","displayname":"Alice Smith"}},
			{"type":"m.room.member","state_key":"@bob:trust","sender":"@bob:trust","content":{"membership":"join"}},
			{"type":"m.room.member","state_key":"@gone:trust","sender":"@gone:trust","content":{"membership":"leave","displayname":"Gone"}},
			{"type":"m.room.member","state_key":"@asked:trust","sender":"@alice:trust","content":{"membership":"invite","displayname":"Asked"}},
			{"type":"m.room.member","state_key":"@odd:trust","sender":"@odd:trust","content":"not an object"}
		]`))
	}))
	defer srv.Close()
	cli, err := mautrix.NewClient(srv.URL, "@bot:trust", "token")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := New(cli, "@bot:trust", st, nil)
	f, members, err := r.RoomAndMembers(context.Background(), "!r:trust")
	if err != nil {
		t.Fatal(err)
	}
	if f.JoinRule != "invite" || f.Creator != "@alice:trust" {
		t.Errorf("settings misread: join rule %q, creator %q", f.JoinRule, f.Creator)
	}
	want := map[string]string{"@alice:trust": "Alice Smith", "@bob:trust": ""}
	if len(members) != len(want) {
		t.Fatalf("members %v, want %v", members, want)
	}
	for u, name := range want {
		if got, ok := members[u]; !ok || got != name {
			t.Errorf("member %s: got %q (present %v), want %q", u, got, ok, name)
		}
	}
	// The member cache was refreshed by the same read.
	cached, err := r.Members(context.Background(), id.RoomID("!r:trust"))
	if err != nil || len(cached) != 2 || reads != 1 {
		t.Fatalf("after one state read: cached %v (err %v), %d reads", cached, err, reads)
	}
}
