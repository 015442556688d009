package bench_test

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
)

func logSweepResults(t *testing.T, res sweepResults) {
	t.Helper()
	var b strings.Builder
	b.WriteString("\n")
	for _, f := range res.Fills {
		fmt.Fprintf(&b, "filled %s: %d events (%d texts, %d reactions, %d edits), %d senders, %.0f s (%.0f events/s)\n",
			f.Room, f.Events, f.Texts, f.Reacts, f.Edits, f.Senders, f.Secs, float64(f.Events)/f.Secs)
	}
	fmt.Fprintf(&b, "\nrate (in this order: Caldicott, then the bare client):\n")
	fmt.Fprintf(&b, "%-10s %6s %8s %10s %10s %10s %10s %10s %12s %10s %14s %14s %8s\n", "who", "events", "redacted", "events/s", "wall s", "wall ev/s", "PUT p50", "PUT p90", "PUT total s", "PUT share", "Dendrite CPU s", "harness+C. s", "others")
	for _, r := range []redactionRun{res.Caldicott, res.Bare, res.BigSweep} {
		if r.Who == "" {
			continue
		}
		// The share of the deleter's time spent waiting for PUT /redact.
		share := 0.0
		if span := r.ReqLast.Sub(r.ReqFirst).Seconds(); span > 0 {
			share = r.RequestSum / span
		}
		fmt.Fprintf(&b, "%-10s %6d %8d %10.1f %10.1f %10.1f %10.1f %10.1f %12.1f %9.0f%% %14.1f %14.1f %7.0f%%\n", r.Who, r.Events, r.Redacted, r.ServerRate, r.WallSecs, r.WallRate, r.RequestP50, r.RequestP90, r.RequestSum, 100*share, r.CPU.DendSecs, r.CPU.SelfSecs, r.CPU.ForeignPct)
		fmt.Fprintf(&b, "    slowest PUT /redact %.0f ms\n", r.RequestMax)
		for k, o := range r.OtherRequests {
			fmt.Fprintf(&b, "    also %s: %d requests, %.1f s\n", k, o.N, o.SumSec)
		}
	}
	if res.Bare.ServerRate > 0 {
		fmt.Fprintf(&b, "Caldicott/bare: %.2f× (target ≥ 0.9×)\n", res.Caldicott.ServerRate/res.Bare.ServerRate)
	}
	m := res.Memory
	fmt.Fprintf(&b, "\nbig room: %d of %d events deleted in %.0f s (finished: %v); %.1f events/s between the first and last redaction request\n",
		res.BigSweep.Redacted, res.Big, res.BigSweep.WallSecs, res.BigDone, res.BigSweep.ServerRate)
	fmt.Fprintf(&b, "heap (MiB, start/max/end): in use %.1f/%.1f/%.1f, allocated %.1f/%.1f/%.1f, live after GC %.1f/%.1f/%.1f; goroutines %.0f/%.0f/%.0f\n",
		m.InuseMiB[0], m.InuseMiB[1], m.InuseMiB[2], m.AllocMiB[0], m.AllocMiB[1], m.AllocMiB[2], m.LiveMiB[0], m.LiveMiB[1], m.LiveMiB[2], m.Goroutine[0], m.Goroutine[1], m.Goroutine[2])
	fmt.Fprintf(&b, "live heap by quarter of the sweep (max MiB): %.1f %.1f %.1f %.1f; slope %.1f KiB per 10,000 events swept (%d samples over %.0f s)\n",
		m.Quarters[0], m.Quarters[1], m.Quarters[2], m.Quarters[3], m.LivePer10k, m.Samples, m.Secs)
	b.WriteString("\n")
	for _, c := range res.CPU {
		fmt.Fprintf(&b, "CPU, %s: %.0f s wall; machine %.0f%% busy (%d cores); harness+Caldicott %.1f s, Dendrite %.1f s; others %.0f%%\n",
			c.Phase, c.WallSecs, c.BusyPct, runtime.NumCPU(), c.SelfSecs, c.DendSecs, c.ForeignPct)
		if c.ForeignPct > 5 {
			fmt.Fprintf(&b, "  WARNING: other processes used %.0f%% of the machine during %s; these figures are not clean\n", c.ForeignPct, c.Phase)
		}
	}
	fmt.Fprintf(&b, "left out: %d samples during which other processes used over %d%% of the machine; %d invited after the big sweep ended\n", res.Spoilt, foreignLimit, res.AfterDone)
	fmt.Fprintf(&b, "%-22s %4s %9s %9s %9s | server-side %9s %9s %9s | Dendrite CPU ms\n", "condition", "n", "p50 ms", "p90 ms", "max ms", "p50 ms", "p90 ms", "max ms")
	by := map[string]latencySummary{}
	for _, s := range res.Summaries {
		by[s.Condition] = s
		fmt.Fprintf(&b, "%-22s %4d %9.0f %9.0f %9.0f | %21.0f %9.0f %9.0f | %15.0f\n", s.Condition, s.N, s.P50, s.P90, s.Max, s.ServerP50, s.ServerP90, s.ServerMax, s.DendriteCPUMS)
	}
	idle, loaded := by["caldicott-idle"], by["caldicott-sweeping"]
	bidle, bloaded := by["bare-idle"], by["bare-sweeping"]
	fmt.Fprintf(&b, "sweeping/idle: Caldicott p50 %.2f×, p90 %.2f× (target ≤ 1.2×); bare appservice p50 %.2f×, p90 %.2f×\n",
		loaded.P50/idle.P50, loaded.P90/idle.P90, bloaded.P50/bidle.P50, bloaded.P90/bidle.P90)
	b.WriteString("where Caldicott's removals spent their time (ms, p50/p90): deliver = invite → Caldicott's first request; state = its room-state reads; decide = its own work; kick = POST /kick; to_sync = kick → observer's /sync\n")
	for _, st := range res.Steps {
		fmt.Fprintf(&b, "  %-20s n %2d", st.Condition, st.N)
		for _, k := range []string{"deliver", "state", "decide", "kick", "to_sync"} {
			fmt.Fprintf(&b, "  %s %.0f/%.0f", k, st.P50[k], st.P90[k])
		}
		b.WriteString("\n")
	}
	if len(res.Notifications) > 0 {
		var many []string
		for who, n := range res.Notifications {
			if n > 10 {
				many = append(many, fmt.Sprintf("%s %d", who, n))
			}
		}
		sort.Strings(many)
		fmt.Fprintf(&b, "notifications Dendrite kept at the end: %d users; over ten: %s\n", len(res.Notifications), strings.Join(many, ", "))
	}
	writeProblems(&b, "Caldicott warnings and errors during the run", res.Problems)
	t.Log(b.String())
}
