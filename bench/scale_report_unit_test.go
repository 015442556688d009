package bench_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
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
	// 3 + 2 + 3 + 6 lines, a point at each of 3 room counts.
	if want := (3 + 2 + 3 + 6) * 3; circles != want {
		t.Errorf("%d points, want %d", circles, want)
	}
	for _, want := range []string{"Resident memory (MiB)", "Start-up (s)", "Long jobs (s)", "Join→removal p50 (ms)", "target 200 MiB", "target 10 s", "10,000 rooms"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	table := scaleTable(res)
	for _, want := range []string{"| 100 | 100 (1.00) | 1.0 | 2.0 |", "| 10000 |", "| 1000 | idle | 80 / 120 (10) | 70 / 0 (10) |"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
}
