package appservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/store"
)

// The database's health is told once each way: the gauge follows every
// outcome, the log says "cannot be reached" at the first failure and
// "answers again" at the first answer after, and the store's refusal
// (another leads) is an answer.
func TestDBHealthTellsOnceEachWay(t *testing.T) {
	down := fmt.Errorf("take or renew the leader's lease: %w", errors.New("dial tcp: connection refused"))
	var logged bytes.Buffer
	h := dbHealth{up: prometheus.NewGauge(prometheus.GaugeOpts{Name: "up"}), log: zerolog.New(&logged)}
	start := time.Now()
	steps := []struct {
		err       error
		at        time.Duration
		gauge     float64
		downLines int // "cannot be reached" lines so far
		backLines int // "answers again" lines so far
	}{
		{nil, 0, 1, 0, 0},
		{store.ErrNotLeader, time.Second, 1, 0, 0},
		{down, 2 * time.Second, 0, 1, 0},
		{context.DeadlineExceeded, 3 * time.Second, 0, 1, 0},
		{down, 4 * time.Second, 0, 1, 0},
		{store.ErrNotLeader, 6 * time.Second, 1, 1, 1},
		{nil, 7 * time.Second, 1, 1, 1},
		{down, 8 * time.Second, 0, 2, 1},
		{nil, 9 * time.Second, 1, 2, 2},
	}
	for i, s := range steps {
		h.note(s.err, start.Add(s.at))
		if got := testutil.ToFloat64(h.up); got != s.gauge {
			t.Errorf("step %d (%v): gauge %v, want %v", i, s.err, got, s.gauge)
		}
		log := logged.String()
		if n, m := strings.Count(log, "The database cannot be reached"), strings.Count(log, "The database answers again"); n != s.downLines || m != s.backLines {
			t.Errorf("step %d (%v): %d down and %d back lines, want %d and %d\n%s", i, s.err, n, m, s.downLines, s.backLines, log)
		}
	}
	if !strings.Contains(logged.String(), `"down_for":4000`) {
		t.Errorf("the first outage (2 s to 6 s) is not told as 4 s long:\n%s", logged.String())
	}
}
