package retention

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// A message that waits for the patient record is deleted once recorded,
// however far the room's history has gone on since: the saved cursor never
// passes the page it is on, while the pass still reads on to the end.
// (Found in CI: with the wait on page one and the room's history running
// onto page two, the recorded message stayed for ever.)
func TestCursorStaysWithTheRecord(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	expired := now.Add(-2 * time.Hour).UnixMilli()
	pages := map[string]string{
		// Page one: the message awaiting the record, then more history.
		startOfHistory: `{"start":"t0_0","end":"p2","chunk":[
			{"event_id":"$waiting","type":"m.room.message","sender":"@bob:a","origin_server_ts":` + strconv.FormatInt(expired, 10) + `,"content":{"body":"x"}}]}`,
		// Page two: only state, so the pass must read on.
		"p2": `{"start":"p2","end":"p3","chunk":[
			{"event_id":"$topic","type":"m.room.topic","state_key":"","sender":"@alice:a","origin_server_ts":` + strconv.FormatInt(expired, 10) + `,"content":{}}]}`,
		// Page three: a message still within the room's lifetime.
		"p3": `{"start":"p3","end":"p4","chunk":[
			{"event_id":"$young","type":"m.room.message","sender":"@bob:a","origin_server_ts":` + strconv.FormatInt(now.UnixMilli(), 10) + `,"content":{"body":"y"}}]}`,
	}
	var read []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from := r.URL.Query().Get("from")
		read = append(read, from)
		body, ok := pages[from]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"errcode": "M_INVALID_PARAM", "error": "unknown token"})
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(hs.Close)

	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetClock(func() time.Time { return now })
	bot, err := mautrix.NewClient(hs.URL, "@caldicott:a", "token")
	if err != nil {
		t.Fatal(err)
	}
	r := &Retention{Kit: &kit.Kit{Cfg: &config.Config{}, Store: st, Now: st.Now, Bot: bot, Log: zerolog.Nop()},
		lanes: worker.NewLanes(), started: now,
		Keep: func(_, eventID string) bool { return eventID == "$waiting" }}
	room := id.RoomID("!ward:a")
	sweep := store.SweepState{RoomID: room.String()}
	p := &pass{r: r, room: room, ret: policy.Retention{MaxLifetime: time.Hour}, st: &sweep, now: now, budget: 10}
	if err := p.run(ctx); err != nil {
		t.Fatal(err)
	}

	if len(read) != 3 {
		t.Fatalf("the pass read pages from %q, want all three: it must read on past a message awaiting the record", read)
	}
	if sweep.Cursor != "" {
		t.Fatalf("the cursor moved to %q, past the message awaiting the record", sweep.Cursor)
	}
	if sweep.Backlog != 1 || !p.caughtUp || !sweep.OldestKept.Equal(now) {
		t.Fatalf("after the pass: backlog %d, caught up %v, oldest kept %s; want 1, true, %s", sweep.Backlog, p.caughtUp, sweep.OldestKept, now)
	}
	saved, err := st.SweepStateOf(ctx, room.String())
	if err != nil {
		t.Fatal(err)
	}
	if saved.Cursor != "" {
		t.Fatalf("the saved cursor is %q, past the message awaiting the record", saved.Cursor)
	}
}
