package store

import (
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// elapsedOnly are the files that may read the wall clock besides the store:
// each measures how long something took or paces work by how recently
// something happened, never a date that a rule, a record or a reply shows.
var elapsedOnly = map[string]string{
	"store/store.go":                      "the one clock itself",
	"appservice/worker/lanes.go":          "task durations and the give-way pacing",
	"appservice/worker/jobs.go":           "job durations in the log",
	"appservice/retention/sweep.go":       "sweep durations (metrics) and pacing",
	"appservice/verification/activity.go": "how long the rooms have been quiet (/sync pacing)",
	"appservice/listener.go":              "connection write deadlines (the network's clock)",
	"appservice/leader.go":                "the lease's deadline since its last renewal (monotonic)",
	"appservice/executor/lag.go":          "how long a resumed step waits for the homeserver's history (monotonic)",
}

// TestOneClock fails when production code reads the wall clock (time.Now,
// time.Since, time.Until) outside the store's clock and the elapsed-time
// measurements above: a date taken from the wall clock meets a date pinned
// by a test, and the test then fails on a different day (as
// TestDeletionStatus did from 1 December 2026).
func TestOneClock(t *testing.T) {
	tree := gosource.Module(t)
	files := tree.Select(func(f *gosource.File) bool {
		_, elapsed := elapsedOnly[f.Rel]
		// test harnesses and the demo
		return !elapsed && !f.In("internal/testenv", "scripts", "e2e", "tools")
	})
	for _, u := range gosource.Uses(files, "time", "Now", "Since", "Until") {
		t.Errorf("%s: time.%s reads the wall clock; read the store's clock (Store.Now, kit.Kit.Now) instead", tree.Where(u.File, u.Sel), u.Sel.Sel.Name)
	}
	for rel := range elapsedOnly {
		if len(tree.Select(func(f *gosource.File) bool { return f.Rel == rel })) == 0 {
			t.Errorf("elapsedOnly lists %s, which is not a production file; remove it", rel)
		}
	}
}
