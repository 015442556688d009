package retention

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// A deleted message's file waits to be judged while the index may not yet
// have counted every message: in the first moments after a start (the
// homeserver is still sending what it held back) and while delivered
// events wait to be handled. Then it is judged; a judgement that fails
// for a reason that may pass (here: the homeserver cannot be reached)
// leaves it queued for the next sweep.
func TestFilesWaitForTheIndex(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	bot, err := mautrix.NewClient("http://127.0.0.1:1", "@caldicott:a", "token")
	if err != nil {
		t.Fatal(err)
	}
	bot.DefaultHTTPRetries = 0
	var logs bytes.Buffer
	r := &Retention{Kit: &kit.Kit{Cfg: &config.Config{}, Store: st, Now: st.Now, Bot: bot, Log: zerolog.New(&logs)},
		lanes: worker.NewLanes(), media: &MediaStore{Base: t.TempDir(), Server: "a"}, started: now}
	if err := st.AddMediaCandidates(ctx, []store.MediaCandidate{{URI: "mxc://a/x", RoomID: "!r:a", EventID: "$e"}}); err != nil {
		t.Fatal(err)
	}
	waiting := func() int {
		t.Helper()
		due, err := st.DueMediaCandidates(ctx, now.Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(due)
	}

	judged := func() bool { return strings.Contains(logs.String(), "Could not judge an expired message's file yet") }
	r.releaseDue(ctx)
	if waiting() != 1 || judged() {
		t.Fatal("judged just after the start")
	}
	if _, err := st.IngestTransaction(ctx, "t1", []store.InboxEvent{{EventID: "$new", RoomID: "!held:a", Type: "m.room.message", JSON: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(redeliveryWait + intakeLag + time.Second)
	r.releaseDue(ctx)
	if waiting() != 1 || judged() {
		t.Fatal("judged while a delivered event waited to be indexed")
	}
	pending, _ := st.PendingEvents(ctx, 1)
	if err := st.MarkEventDone(ctx, pending[0].Seq); err != nil {
		t.Fatal(err)
	}
	r.releaseDue(ctx)
	if !judged() {
		t.Fatalf("not judged once the index had caught up: %s", logs.String())
	}
	if waiting() != 1 {
		t.Fatal("a file whose judgement may succeed later left the queue")
	}
}

func TestRetryableJudgement(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("download: %w", mautrix.HTTPError{Response: &http.Response{StatusCode: code}})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the file is gone already", status(http.StatusNotFound), false},
		{"the bot may not read it", status(http.StatusForbidden), false},
		{"the homeserver is busy", status(http.StatusTooManyRequests), true},
		{"the homeserver fails", status(http.StatusBadGateway), true},
		{"the homeserver cannot be reached", fmt.Errorf("download: %w", mautrix.HTTPError{WrappedError: errors.New("connection refused")}), true},
		{"the database cannot be reached", errors.New("read media index: connection refused"), true},
		{"the media store lacks it", fmt.Errorf("%w: mxc://a/x", errNotInStore), false},
		{"other URIs still to hash", fmt.Errorf("judge mxc://a/x: %w", errMoreToHash), true},
	}
	for _, tc := range tests {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("%s: retryable %v, want %v", tc.name, got, tc.want)
		}
	}
}
