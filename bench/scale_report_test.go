package bench_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// scaleTable is the run's figures as the Markdown tables docs/benchmarks.md
// shows: one row per room count.
func scaleTable(res scaleResults) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Staff in LDAP: %d; harness's own RSS before Caldicott started: %.0f MiB\n\n", res.Staff, res.HarnessRSSMB)
	b.WriteString("| rooms | created in, s (rooms/s) | start-up to ready (enforcing), s | to caught up, s | RSS max, MiB | RSS idle, MiB | Go heap idle, MiB | full reconciliation, s (median of n) | review cycle, every room due, s | directory sync + sweep with 1% leavers, s (first; median of n) |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range res.Steps {
		rec, rev, dir := "—", "—", "—" // not measured at this count (-bench.scale-jobs-upto)
		if j, ok := s.Jobs["reconcile"]; ok {
			rec = fmt.Sprintf("%.1f (%d)", j.Median, j.Runs)
		}
		if j, ok := s.Jobs["reviews"]; ok {
			rev = fmt.Sprintf("%.1f", j.First)
		}
		if j, ok := s.Jobs["directory"]; ok {
			dir = fmt.Sprintf("%.1f; %.1f (%d)", j.First, j.Median, j.Runs)
		}
		fmt.Fprintf(&b, "| %d | %.0f (%.2f) | %.2f | %.1f | %.0f | %.0f | %.0f | %s | %s | %s |\n",
			s.Rooms, s.CreationSecs, float64(s.NewRooms)/max(s.CreationSecs, 1e-9), s.EnforcingSecs, s.CaughtUpSecs,
			s.RSSMB, s.IdleRSSMB, s.IdleHeapMB, rec, rev, dir)
	}
	b.WriteString("\nJoin→removal, client-observed, p50 / p90 ms (n): Caldicott vs the bare appservice in the same rounds\n\n")
	b.WriteString("| rooms | condition | Caldicott | bare appservice | load (1 min) | others' share of the machine |\n|---:|---|---:|---:|---:|---:|\n")
	for _, s := range res.Steps {
		by := map[string]latencySummary{}
		for _, l := range s.Latency {
			by[l.Condition] = l
		}
		load := map[string]phaseLoad{}
		for _, p := range s.Phases {
			load[p.Phase] = p
		}
		for _, c := range []string{"idle", "start-up", "reconcile", "reviews", "directory"} {
			cal, bare := by["caldicott-"+c], by["bare-"+c]
			if cal.N == 0 && bare.N == 0 {
				continue // not measured at this count
			}
			fmt.Fprintf(&b, "| %d | %s | %.0f / %.0f (%d) | %.0f / %.0f (%d) | %.1f | %.0f%% |\n",
				s.Rooms, c, cal.P50, cal.P90, cal.N, bare.P50, bare.P90, bare.N, load[c].Load1, load[c].ForeignPct)
		}
	}
	return b.String()
}

// series is one line of a cost-curve panel.
type series struct {
	name   string
	colour string
	y      func(scaleStep) float64
}

// panel is one chart of the cost curve, with an optional target line.
type panel struct {
	title, unit string
	target      float64
	lines       []series
}

// costCurveSVG draws the cost curve: four panels over the room counts
// (logarithmic), as plain SVG text.
func costCurveSVG(res scaleResults) string {
	p50 := func(cond string) func(scaleStep) float64 {
		return func(s scaleStep) float64 {
			for _, l := range s.Latency {
				if l.Condition == cond && l.N > 0 {
					return l.P50
				}
			}
			return math.NaN() // not measured at this count
		}
	}
	job := func(name string, first bool) func(scaleStep) float64 {
		return func(s scaleStep) float64 {
			j, ok := s.Jobs[name]
			switch {
			case !ok:
				return math.NaN() // not measured at this count
			case first:
				return j.First
			}
			return j.Median
		}
	}
	panels := []panel{
		{title: "Resident memory", unit: "MiB", target: 200, lines: []series{
			{"RSS, max", "#c0392b", func(s scaleStep) float64 { return s.RSSMB }},
			{"RSS, idle", "#2980b9", func(s scaleStep) float64 { return s.IdleRSSMB }},
			{"Go heap, idle", "#27ae60", func(s scaleStep) float64 { return s.IdleHeapMB }},
		}},
		{title: "Start-up", unit: "s", target: 10, lines: []series{
			{"to ready (enforcing)", "#c0392b", func(s scaleStep) float64 { return s.EnforcingSecs }},
			{"to caught up", "#2980b9", func(s scaleStep) float64 { return s.CaughtUpSecs }},
		}},
		{title: "Long jobs", unit: "s", lines: []series{
			{"full reconciliation", "#c0392b", job("reconcile", false)},
			{"review cycle (all due)", "#27ae60", job("reviews", true)},
			{"directory sync + sweep", "#2980b9", job("directory", true)},
		}},
		{title: "Join→removal p50", unit: "ms", lines: []series{
			{"idle", "#7f8c8d", p50("caldicott-idle")},
			{"during start-up", "#8e44ad", p50("caldicott-start-up")},
			{"during reconciliation", "#c0392b", p50("caldicott-reconcile")},
			{"during review cycle", "#27ae60", p50("caldicott-reviews")},
			{"during directory sync", "#2980b9", p50("caldicott-directory")},
			{"bare appservice, idle", "#000000", p50("bare-idle")},
		}},
	}
	const w, h, pw, ph = 900, 640, 450, 320
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	for i, p := range panels {
		drawPanel(&b, p, res.Steps, float64((i%2)*pw), float64((i/2)*ph), pw, ph)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// drawPanel draws one panel at (x0, y0), w by h.
func drawPanel(b *strings.Builder, p panel, steps []scaleStep, x0, y0, w, h float64) {
	left, right, top, bottom := x0+60, x0+w-20, y0+30, y0+h-90
	yMax := p.target
	for _, l := range p.lines {
		for _, s := range steps {
			if v := l.y(s); !math.IsNaN(v) {
				yMax = max(yMax, v)
			}
		}
	}
	yMax = niceCeil(yMax * 1.1)
	xMin, xMax := 100.0, 10000.0
	for _, s := range steps {
		xMin, xMax = math.Min(xMin, float64(s.Rooms)), math.Max(xMax, float64(s.Rooms))
	}
	xOf := func(rooms float64) float64 {
		return left + (right-left)*(math.Log10(rooms)-math.Log10(xMin))/(math.Log10(xMax)-math.Log10(xMin))
	}
	yOf := func(v float64) float64 { return bottom - (bottom-top)*v/yMax }
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="13" font-weight="bold">%s (%s)</text>`+"\n", left, top-12, p.title, p.unit)
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`+"\n", left, bottom, right, bottom, left, top, left, bottom)
	ticks := []float64{100, 1000, 10000}
	for _, s := range steps {
		if !slices.Contains(ticks, float64(s.Rooms)) {
			ticks = append(ticks, float64(s.Rooms))
		}
	}
	for _, tick := range ticks {
		if tick < xMin || tick > xMax {
			continue
		}
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s rooms</text>`+"\n", xOf(tick), bottom+14, commas(int(tick)))
	}
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%g</text>`+"\n", left, yOf(v), right, yOf(v), left-4, yOf(v)+4, v)
	}
	if p.target > 0 {
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#e67e22" stroke-dasharray="6 4"/><text x="%.0f" y="%.1f" fill="#e67e22" text-anchor="end">target %g %s</text>`+"\n", left, yOf(p.target), right, yOf(p.target), right, yOf(p.target)-4, p.target, p.unit)
	}
	for i, l := range p.lines {
		var pts []string
		for _, s := range steps {
			if math.IsNaN(l.y(s)) {
				continue // a step that did not measure it: no point
			}
			x, y := xOf(float64(s.Rooms)), yOf(l.y(s))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %.1f %s at %d rooms</title></circle>`+"\n", x, y, l.colour, l.name, l.y(s), p.unit, s.Rooms)
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), l.colour)
		lx, ly := left+float64(i%2)*180, bottom+32+float64(i/2)*16
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/><text x="%.0f" y="%.0f">%s</text>`+"\n", lx, ly-4, lx+18, ly-4, l.colour, lx+22, ly, l.name)
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// commas writes n with thousands separators.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
