package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// A join the homeserver fails with a bare 500 is final only for a room
// upgrade's join (a tombstone may point at a room that does not exist);
// accepting an invitation through a brief homeserver failure is retried,
// the action left pending, so the bot still gets into the room.
func TestJoinFailureRetriedUnlessUpgrade(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"Err":""}`))
	}))
	defer srv.Close()
	tests := []struct {
		name      string
		decision  policy.Decision
		transient bool
	}{
		{"an invitation accepted", policy.AnswerBotInvitation("@a:x", true, "x"), true},
		{"a room upgrade's replacement", policy.JoinReplacement(policy.Succession{OldRoom: "!old:x", NewRoom: "!new:x", UpgradedBy: "@a:x"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, st := againstFake(t, srv.URL)
			ctx := WithInput(context.Background(), "event:$join")
			res, err := e.Execute(ctx, "!old:x", "@a:x", tt.decision)
			pending, _ := st.PendingActions(ctx, 10)
			if tt.transient {
				if !retry.IsTransient(err) || len(pending) != 1 {
					t.Fatalf("Execute = %+v, %v with %d pending; want a transient error, the join pending", res, err, len(pending))
				}
				return
			}
			if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "does not exist or its servers cannot be reached") || len(pending) != 0 {
				t.Fatalf("Execute = %+v, %v with %d pending; want one failure said plainly, nothing pending", res, err, len(pending))
			}
		})
	}
}

// againstFake is an executor on a real SQLite store whose homeserver is a
// fake at url, answering what a test needs to see handled.
func againstFake(t *testing.T, url string) (*Executor, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bot, err := mautrix.NewClient(url, "@caldicott:x", "token")
	if err != nil {
		t.Fatal(err)
	}
	bot.DefaultHTTPRetries = 0
	return New(bot, bot.Client, st, Config{}, nil, zerolog.Nop()), st
}

// replayLogged logs one action as a crashed process left it (planned, not
// done) and replays it, as a new leader would; nothing may stay pending.
func replayLogged(t *testing.T, e *Executor, st *store.Store, a store.LoggedAction) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.PlanActions(ctx, []store.LoggedAction{a}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	if pending, _ := st.PendingActions(ctx, 10); len(pending) != 0 {
		t.Fatalf("still pending after the replay: %+v", pending)
	}
}
