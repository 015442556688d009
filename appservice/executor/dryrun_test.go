package executor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// offline is an executor whose homeserver cannot be reached: any attempt
// to act shows as a transient error.
func offline(t *testing.T, dryRun bool) (*Executor, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bot, err := mautrix.NewClient("http://127.0.0.1:1", "@caldicott:x", "token")
	if err != nil {
		t.Fatal(err)
	}
	bot.DefaultHTTPRetries = 0
	return New(bot, bot.Client, st, Config{DryRun: dryRun}, nil, zerolog.Nop()), st
}

// Dry run is decided here, once, for every kind: nothing reaches the
// homeserver and each action is audited as what it would have done.
func TestDryRunDoesNothingAndAuditsEverything(t *testing.T) {
	e, st := offline(t, true)
	ctx := WithInput(context.Background(), "event:$x")
	plan := policy.PlanNewRoom(policy.Clinical, "Ward 7", "@a:x", policy.Requirements{BotUserID: "@caldicott:x"})
	d := policy.RemoveByAdmin("@b:x", "@a:x", "").
		Then(policy.Readmit("@c:x", nil, nil)).
		Then(policy.SignOutEverywhere("@d:x", "@ig:x")).
		Then(policy.CreatePlannedRoom(plan, policy.RuleNewRoom, "test")).
		Then(policy.AnswerBotInvitation("@a:x", true, "x")).
		Then(policy.TellUser(policy.RuleRequestAnswered, "@e:x", "", "hello", "test")).
		Then(policy.ManagementNotice(policy.RuleReport, "report", "test"))
	res, err := e.Execute(ctx, "!r:x", "@a:x", d)
	if err != nil {
		t.Fatalf("dry run reached the homeserver: %v", err)
	}
	if !res.DryRun || len(res.Failures) > 0 || res.Room != "" {
		t.Fatalf("result %+v", res)
	}
	var audited []string
	_ = st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error { audited = append(audited, e.Action); return nil })
	if len(audited) != len(d.Actions) {
		t.Fatalf("audited %v for %d actions", audited, len(d.Actions))
	}
	for _, a := range audited {
		if !strings.HasPrefix(a, "dry_run.") {
			t.Errorf("audited %q, want dry_run.*", a)
		}
	}
	pending, _ := st.PendingActions(ctx, 10)
	if len(pending) != 0 {
		t.Errorf("%d actions left pending after a dry run", len(pending))
	}
}

// Without dry run the same executor tries the homeserver: the unreachable
// one makes the action pending, and it stays so for the replay.
func TestUnreachableHomeserverLeavesActionsPending(t *testing.T) {
	e, st := offline(t, false)
	ctx := WithInput(context.Background(), "event:$y")
	_, err := e.Execute(ctx, "!r:x", "@a:x", policy.RemoveByAdmin("@b:x", "@a:x", ""))
	if !retry.IsTransient(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	pending, _ := st.PendingActions(ctx, 10)
	if len(pending) != 1 {
		t.Fatalf("%d pending, want 1", len(pending))
	}
	if _, err := e.Replay(ctx); !retry.IsTransient(err) {
		t.Fatalf("replay against an unreachable homeserver: %v", err)
	}
}
