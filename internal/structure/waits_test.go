package structure

import (
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// waitsAllowed are the production files that wait on a timer themselves,
// and why. Everything else that tries again after a failure uses
// internal/retry (its Policy, Delay or Backoff), so every retry has one
// backoff, one cap and one way to stop when Caldicott does.
var waitsAllowed = map[string]string{
	"internal/retry/retry.go":             "the retry helper itself",
	"appservice/worker/jobs.go":           "the periodic jobs' interval (worker.Sleep), not a retry",
	"appservice/worker/lanes.go":          "pacing: a job's rest after each write while people are active",
	"appservice/inbox.go":                 "the inbox's poll interval between wake-ups, not a retry",
	"appservice/leader.go":                "the lease's renewal interval and its deadline, not a retry",
	"appservice/verification/activity.go": "pacing of the identity-reset watch's polls (busyGap), not a retry",
	"appservice/records/deliver.go":       "the delivery queue's one-second tick; the schedule of tries is retry.Backoff.After",
	"gatekeeper/watch.go":                 "the federation view's read interval, not a retry",
	"store/sqlite_busy.go":                "a fixed 50 ms poll of another process's SQLite lock; store imports nothing of ours above it",
}

// TestRetriesUseTheHelper fails when production code waits on a timer
// (time.Sleep, time.After, time.NewTimer, worker.Sleep) outside the files
// above: a hand-written backoff loop belongs in internal/retry.
func TestRetriesUseTheHelper(t *testing.T) {
	tree := gosource.Module(t)
	files := tree.Select(func(f *gosource.File) bool { return !f.In("internal/testenv", "scripts") })
	uses := gosource.Uses(files, "time", "Sleep", "After", "NewTimer", "Tick", "NewTicker")
	uses = append(uses, gosource.Uses(files, tree.Module+"/appservice/worker", "Sleep")...)
	seen := map[string]bool{}
	for _, u := range uses {
		seen[u.File.Rel] = true
		if _, ok := waitsAllowed[u.File.Rel]; !ok {
			t.Errorf("%s: %s.%s waits by hand; retry with internal/retry (Policy.Do, Delay or Backoff), or list the file in waitsAllowed with why it is not a retry",
				tree.Where(u.File, u.Sel), u.Sel.X, u.Sel.Sel.Name)
		}
	}
	for rel := range waitsAllowed {
		if !seen[rel] {
			t.Errorf("%s is in waitsAllowed but no longer waits: take it out", rel)
		}
	}
}
