package bench_test

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCostCurveSVG: the cost curve is well-formed SVG with its four
// panels, a point per room count and line, and both targets; the table
// has a row per room count.
func TestCostCurveSVG(t *testing.T) {
	res := scaleResults{Staff: 100000}
	for i, rooms := range []int{100, 1000, 10000} {
		res.Steps = append(res.Steps, scaleStep{
			Rooms: rooms, NewRooms: rooms, CreationSecs: float64(rooms), EnforcingSecs: 1 + float64(i), CaughtUpSecs: float64(rooms) / 50,
			RSSMB: 40 * float64(i+1), IdleRSSMB: 30, IdleHeapMB: 10,
			Jobs:    map[string]jobFigures{"reconcile": {Runs: 3, Median: 2}, "reviews": {First: 1}, "directory": {First: 5, Median: 4, Runs: 2}},
			Latency: []latencySummary{{Condition: "caldicott-idle", N: 10, P50: 80, P90: 120}, {Condition: "bare-idle", N: 10, P50: 70}},
		})
	}
	svg := costCurveSVG(res)
	dec := xml.NewDecoder(strings.NewReader(svg))
	circles := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "circle" {
			circles++
		}
	}
	// 3 + 2 + 3 lines and the two latency lines with samples (idle, bare
	// idle; the others have none, so no point), at each of 3 room counts.
	if want := (3 + 2 + 3 + 2) * 3; circles != want {
		t.Errorf("%d points, want %d", circles, want)
	}
	for _, want := range []string{"Resident memory (MiB)", "Start-up (s)", "Long jobs (s)", "Join→removal p50 (ms)", "target 200 MiB", "target 10 s", "10,000 rooms"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	table := scaleTable(res)
	for _, want := range []string{"| 100 | 100 (1.00) | 1.00 | 2.0 |", "| 10000 |", "| 1000 | idle | 80 / 120 (10) | 70 / 0 (10) |"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}

// TestCostCurveWithoutJobsAtTheLargestCount: a step run with
// -bench.scale-jobs-upto below its room count has no job figures and no
// job-phase samples; the table says "—" for them (never 0.0, which would
// read as measured and instant) and the curve has no point for them.
func TestCostCurveWithoutJobsAtTheLargestCount(t *testing.T) {
	res := scaleResults{Staff: 100000}
	full := scaleStep{Rooms: 1000, NewRooms: 1000, CreationSecs: 500, EnforcingSecs: 1, CaughtUpSecs: 60, RSSMB: 150,
		Jobs:    map[string]jobFigures{"reconcile": {Runs: 1, Median: 20}, "reviews": {First: 30}, "directory": {First: 50, Median: 50, Runs: 1}},
		Latency: []latencySummary{{Condition: "caldicott-idle", N: 10, P50: 80}, {Condition: "bare-idle", N: 10, P50: 70}, {Condition: "caldicott-reviews", N: 10, P50: 300}}}
	startOnly := scaleStep{Rooms: 10000, NewRooms: 9000, CreationSecs: 4500, EnforcingSecs: 2, CaughtUpSecs: 600, RSSMB: 180,
		Latency: []latencySummary{{Condition: "caldicott-idle", N: 10, P50: 90}, {Condition: "bare-idle", N: 10, P50: 75}, {Condition: "caldicott-reviews"}, {Condition: "bare-reviews"}}}
	res.Steps = []scaleStep{full, startOnly}
	table := scaleTable(res)
	if want := "| 10000 | 4500 (2.00) | 2.00 | 600.0 | 180 | 0 | 0 | — | — | — |"; !strings.Contains(table, want) {
		t.Errorf("the table lacks %q:\n%s", want, table)
	}
	if strings.Contains(table, "| 10000 | reviews |") {
		t.Errorf("the table has a row for review-cycle samples never taken at 10,000 rooms:\n%s", table)
	}
	svg := costCurveSVG(res)
	// Memory 3 and start-up 2 lines at both counts; the three jobs and the
	// review-cycle latency at 1,000 only; idle and bare idle at both.
	if got, want := strings.Count(svg, "<circle"), (3+2)*2+3+1+2*2; got != want {
		t.Errorf("%d points, want %d", got, want)
	}
	if strings.Contains(svg, "NaN") {
		t.Error("the SVG has NaN coordinates")
	}
}

// TestReconciledRoomsSince reads the first reconciliation's room count
// logged at or after a time, a line at a time.
func TestReconciledRoomsSince(t *testing.T) {
	log := filepath.Join(t.TempDir(), "caldicott.log")
	lines := `{"level":"info","rooms":105,"time":"2026-12-07T23:36:34Z","message":"Reconciled rooms"}
{"level":"debug","time":"2026-12-07T23:40:00Z","message":"Job done"}
{"level":"info","rooms":1009,"time":"2026-12-07T23:47:51Z","message":"Reconciled rooms"}
{"level":"info","rooms":39,"time":"2026-12-07T23:49:54Z","message":"Reconciled rooms"}
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		since string
		want  int64
	}{{"2026-12-07T23:00:00Z", 105}, {"2026-12-07T23:40:00Z", 1009}, {"2026-12-07T23:47:51Z", 1009}, {"2026-12-08T00:00:00Z", 0}} {
		since, _ := time.Parse(time.RFC3339, c.since)
		if got := reconciledRoomsSince(t, log, since); got != c.want {
			t.Errorf("since %s: %d rooms, want %d", c.since, got, c.want)
		}
	}
}
