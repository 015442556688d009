package federation

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/facts"
	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

const (
	listRoom   = "!list:trust-a"
	management = "!mgmt:trust-a"
	admin      = "@fedadmin:trust-a"
)

// homeserver stands in for Dendrite where the executor posts notices: it
// keeps the text of each message sent to the management room.
type homeserver struct {
	mu      sync.Mutex
	notices []string
	// listState is the list room's state (GET /state); "" answers 502.
	listState string
	// eventStatus, when set, answers every GET /event with that status.
	eventStatus int
}

func (h *homeserver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/_matrix/client/v3/rooms/"+listRoom+"/state" {
		h.mu.Lock()
		state := h.listState
		h.mu.Unlock()
		if state == "" {
			http.Error(w, `{"errcode":"M_UNKNOWN"}`, http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(state))
		return
	}
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/state/m.room.encryption") {
		// The executor asks before each notice; the management room is not encrypted.
		http.Error(w, `{"errcode":"M_NOT_FOUND"}`, http.StatusNotFound)
		return
	}
	if h.eventStatus != 0 && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/event/") {
		http.Error(w, `{"errcode":"M_UNKNOWN"}`, h.eventStatus)
		return
	}
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/rooms/"+management+"/send/m.room.message/") {
		var c struct {
			Body string `json:"body"`
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &c)
		h.mu.Lock()
		h.notices = append(h.notices, c.Body)
		h.mu.Unlock()
		_, _ = w.Write([]byte(`{"event_id":"$notice"}`))
		return
	}
	http.Error(w, `{"errcode":"M_UNRECOGNIZED"}`, http.StatusNotFound)
}

func (h *homeserver) told() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.notices)
}

// newTestFederation is the capability on a real store (SQLite, its clock
// pinned) with an executor that posts to hs; the list room is joined.
func newTestFederation(t *testing.T, hs *homeserver) (*Federation, *store.Store, *time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "c.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	srv := httptest.NewServer(hs)
	t.Cleanup(srv.Close)
	bot, err := mautrix.NewClient(srv.URL, "@caldicott:trust-a", "token")
	if err != nil {
		t.Fatal(err)
	}
	bot.DefaultHTTPRetries = 0
	cfg := &config.Config{}
	cfg.Homeserver.Domain = "trust-a"
	cfg.Federation = config.Federation{Servers: []string{"trust-b"}, PolicyList: "#list:trust-a", Admins: []string{admin}}
	exec := executor.New(bot, bot.Client, st, executor.Config{OwnServer: "trust-a"}, nil, zerolog.Nop())
	exec.SetManagementRoom(management)
	k := &kit.Kit{Cfg: cfg, Store: st, Bot: bot, BotID: "@caldicott:trust-a", Exec: exec, Log: zerolog.Nop(), Now: st.Now,
		Facts: facts.New(bot, "@caldicott:trust-a", st, st.Now, nil)}
	f, err := New(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.room = listRoom
	return f, st, &now
}

// rule is a policy event in the list room.
func rule(typ, stateKey, sender, evID string, content map[string]any) *event.Event {
	raw, _ := json.Marshal(content)
	return &event.Event{
		Type: event.Type{Type: typ, Class: event.StateEventType}, StateKey: &stateKey, Sender: id.UserID(sender),
		ID: id.EventID(evID), RoomID: listRoom, Timestamp: 1_765_000_000_000, Content: event.Content{VeryRaw: raw},
	}
}

// TestViewPublishedForTheGatekeeper: as rules arrive, the appservice
// writes the federation it computes (config and list together, our own
// staff left to our directory) where the gatekeeper reads it, stamped
// with the store's clock.
func TestViewPublishedForTheGatekeeper(t *testing.T) {
	f, st, now := newTestFederation(t, &homeserver{})
	ctx := context.Background()
	events := []*event.Event{
		// Trust B's bot publishes its leaver and a family of locum accounts.
		rule("m.policy.rule.user", "leaver", "@caldicott:trust-b", "$1", map[string]any{"entity": "@jo:trust-b", "recommendation": "m.ban", "reason": "left Trust B"}),
		rule("m.policy.rule.user", "locums", "@caldicott:trust-b", "$2", map[string]any{"entity": "@locum.*:trust-b", "recommendation": "m.ban", "reason": "agency contract ended"}),
		// Our own bot publishes our leaver: our directory decides for us.
		rule("m.policy.rule.user", "ours", "@caldicott:trust-a", "$3", map[string]any{"entity": "@sam:trust-a", "recommendation": "m.ban", "reason": "left Trust A"}),
		// A federation admin adds Trust C.
		rule("m.policy.rule.server", "trust-c", admin, "$4", map[string]any{"entity": "trust-c", "recommendation": "org.matrix.mjolnir.allow", "reason": "joined"}),
	}
	for _, e := range events {
		if err := f.HandleEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	v, err := st.FederationView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ListBan{{Entity: "@jo:trust-b", Reason: "left Trust B"}, {Entity: "@locum.*:trust-b", Reason: "agency contract ended"}}
	if !slices.Equal(v.Servers, []string{"trust-b", "trust-c"}) || !slices.Equal(v.Banned, want) || !v.UpdatedAt.Equal(*now) {
		t.Fatalf("view %+v; want servers [trust-b trust-c], bans %+v, at %s", v, want, *now)
	}

	// The ban withdrawn: the view follows at once.
	*now = now.Add(time.Minute)
	if err := f.HandleEvent(ctx, rule("m.policy.rule.user", "leaver", "@caldicott:trust-b", "$5", map[string]any{})); err != nil {
		t.Fatal(err)
	}
	v, _ = st.FederationView(ctx)
	if len(v.Banned) != 1 || v.Banned[0].Entity != "@locum.*:trust-b" || !v.UpdatedAt.Equal(*now) {
		t.Fatalf("after the withdrawal: %+v", v)
	}
}

// TestListReloadRefreshesView: each read of the whole list (every 10
// minutes) stamps the view anew, though nothing changed, so its age is the
// age of the last successful read; a list that cannot be read leaves the
// view to age, as the gatekeeper's max_list_age expects.
func TestListReloadRefreshesView(t *testing.T) {
	hs := &homeserver{listState: `[{"type":"m.policy.rule.user","state_key":"leaver","sender":"@caldicott:trust-b","event_id":"$1","origin_server_ts":1,"content":{"entity":"@jo:trust-b","recommendation":"m.ban","reason":"left Trust B"}}]`}
	f, st, now := newTestFederation(t, hs)
	f.Cfg.Federation.PolicyList = "#list:trust-b" // hosted by another trust: nobody to invite
	ctx := context.Background()
	updatedAt := func() time.Time {
		t.Helper()
		v, err := st.FederationView(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Banned) != 1 || v.Banned[0].Entity != "@jo:trust-b" {
			t.Fatalf("view %+v", v)
		}
		return v.UpdatedAt
	}
	read := *now
	f.EnsureList(ctx)
	if got := updatedAt(); !got.Equal(read) {
		t.Fatalf("first read stamped %s, want %s", got, read)
	}
	*now = now.Add(5 * time.Minute)
	f.EnsureList(ctx) // within the reload period: not read again
	if got := updatedAt(); !got.Equal(read) {
		t.Fatalf("stamped %s without a reload", got)
	}
	*now = now.Add(6 * time.Minute)
	read = *now
	f.EnsureList(ctx)
	if got := updatedAt(); !got.Equal(read) {
		t.Fatalf("reload stamped %s, want %s", got, read)
	}
	hs.mu.Lock()
	hs.listState = ""
	hs.mu.Unlock()
	*now = now.Add(11 * time.Minute)
	f.EnsureList(ctx)
	if got := updatedAt(); !got.Equal(read) {
		t.Fatalf("a failed reload stamped %s; the view must keep its age (%s)", got, read)
	}
}

// TestGatekeeperStateToldOnce: the gatekeeper records in the store that
// its view grew too old; the appservice's list job tells the management
// room once, and once more when it is current again.
func TestGatekeeperStateToldOnce(t *testing.T) {
	hs := &homeserver{}
	f, st, now := newTestFederation(t, hs)
	ctx := context.Background()
	record := func(state string) {
		t.Helper()
		if err := st.SetGatekeeperState(ctx, store.GatekeeperState{State: state, Since: *now, ListUpdatedAt: now.Add(-73 * time.Hour), MaxListAge: 72 * time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	f.NoticeGatekeeper(ctx) // no gatekeeper: nothing to say
	record(store.GatekeeperOK)
	f.NoticeGatekeeper(ctx) // ok from the start: nothing to say
	record(store.GatekeeperListMissing)
	f.NoticeGatekeeper(ctx) // the list's own trouble, told by EnsureList
	if got := hs.told(); len(got) != 0 {
		t.Fatalf("told %q before anything went wrong", got)
	}
	*now = now.Add(time.Hour)
	record(store.GatekeeperListStale)
	f.NoticeGatekeeper(ctx)
	f.NoticeGatekeeper(ctx)
	got := hs.told()
	if len(got) != 1 || !strings.Contains(got[0], "older than its limit (72h0m0s; last read 4 Dec 2026 09:00 UTC)") || !strings.Contains(got[0], "federation.servers") {
		t.Fatalf("told %q; want one notice of the stale list", got)
	}
	*now = now.Add(time.Hour)
	record(store.GatekeeperOK)
	f.NoticeGatekeeper(ctx)
	f.NoticeGatekeeper(ctx)
	if got = hs.told(); len(got) != 2 || !strings.Contains(got[1], "current copy of the federation's policy list again") {
		t.Fatalf("told %q; want the recovery once", got)
	}
}
