package bench_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"
)

func logParallelResults(t *testing.T, res parallelResults) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d clinical rooms (created in %.0f s); start-up reconciliation of %d rooms, ready after %.1f s\n",
		res.Rooms, res.RoomCreationSecs, res.StartupRooms, res.StartupReady)
	fmt.Fprintf(&b, "Dendrite's database: %s\n", dendriteDatabaseName())
	// Only whole reconciliations: the last is cut short when Caldicott stops.
	var took, rooms []float64
	for _, r := range res.Reconciliations {
		if r.Rooms >= res.StartupRooms {
			took, rooms = append(took, r.Took().Seconds()), append(rooms, float64(r.Rooms))
		} else if r.Rooms > 0 {
			fmt.Fprintf(&b, "a reconciliation cut short when Caldicott stopped: %d rooms in %.1f s\n", r.Rooms, r.Took().Seconds())
		}
	}
	if len(took) > 0 {
		fmt.Fprintf(&b, "complete periodic reconciliations while sampling: %d, of %.0f–%.0f rooms, each %.1f–%.1f s (median %.1f s)\n",
			len(took), percentile(rooms, 0), percentile(rooms, 100), percentile(took, 0), percentile(took, 100), percentile(took, 50))
	}
	for _, c := range res.CPU {
		fmt.Fprintf(&b, "CPU, %s: %.0f s wall; machine %.0f%% busy (%d cores); harness+Caldicott %.1f s, Dendrite %.1f s; others %.0f%%\n",
			c.Phase, c.WallSecs, c.BusyPct, runtime.NumCPU(), c.SelfSecs, c.DendSecs, c.ForeignPct)
		if c.ForeignPct > 5 {
			fmt.Fprintf(&b, "  WARNING: other processes used %.0f%% of the machine during %s; these figures are not clean\n", c.ForeignPct, c.Phase)
		}
	}
	fmt.Fprintf(&b, "left out: %d samples invited between two reconciliations; %d during which other processes used over %d%% of the machine\n", res.BetweenRuns, res.Spoilt, foreignLimit)
	fmt.Fprintf(&b, "%-34s %4s %9s %9s %9s | server-side %9s %9s %9s | Dendrite CPU ms\n", "condition", "n", "p50 ms", "p90 ms", "max ms", "p50 ms", "p90 ms", "max ms")
	by := map[string]latencySummary{}
	for _, s := range res.Summaries {
		by[s.Condition] = s
		fmt.Fprintf(&b, "%-34s %4d %9.0f %9.0f %9.0f | %21.0f %9.0f %9.0f | %15.0f\n", s.Condition, s.N, s.P50, s.P90, s.Max, s.ServerP50, s.ServerP90, s.ServerMax, s.DendriteCPUMS)
	}
	perRoom := map[id.RoomID][]latencySample{}
	var order []id.RoomID
	for _, s := range res.Samples {
		if s.Enforcer == "caldicott" && s.Phase == "reconciling" && s.DuringReconciliation {
			if _, seen := perRoom[s.Room]; !seen {
				order = append(order, s.Room)
			}
			perRoom[s.Room] = append(perRoom[s.Room], s)
		}
	}
	for _, room := range order {
		r := summarize("", perRoom[room])
		fmt.Fprintf(&b, "  while reconciling, %s: n %d, p50 %.0f ms, max %.0f ms\n", room, r.N, r.P50, r.Max)
	}
	idle, loaded, bare := by["caldicott-idle"], by["caldicott-reconciling"], by["bare-idle"]
	fmt.Fprintf(&b, "reconciling/idle: p50 %.2f×, p90 %.2f× (target ≤ 1.2×); reconciling/bare: p50 %.2f×, p90 %.2f×\n",
		loaded.P50/idle.P50, loaded.P90/idle.P90, loaded.P50/bare.P50, loaded.P90/bare.P90)
	if restarted := by["caldicott-restarted"]; restarted.N > 0 {
		fmt.Fprintf(&b, "restarted, no reconciliation/idle: p50 %.2f×, p90 %.2f×; reconciling/restarted: p50 %.2f×, p90 %.2f×; bare restarted/idle p50 %.2f×\n",
			restarted.P50/idle.P50, restarted.P90/idle.P90, loaded.P50/restarted.P50, loaded.P90/restarted.P90, by["bare-restarted"].P50/bare.P50)
	}
	writeProblems(&b, "Caldicott warnings and errors during the run", res.Problems)
	t.Log(b.String())
}

// latencySummary is one condition's figures.
type latencySummary struct {
	Condition string  `json:"condition"`
	N         int     `json:"n"`
	P50       float64 `json:"p50_ms"`
	P90       float64 `json:"p90_ms"`
	Max       float64 `json:"max_ms"`
	ServerP50 float64 `json:"server_p50_ms"`
	ServerP90 float64 `json:"server_p90_ms"`
	ServerMax float64 `json:"server_max_ms"`
	// DendriteCPUMS is the median CPU time Dendrite used per sample.
	DendriteCPUMS float64 `json:"dendrite_cpu_ms"`
}

func summarize(condition string, samples []latencySample) latencySummary {
	var client, server, dendrite []float64
	for _, s := range samples {
		client, dendrite = append(client, s.ClientMS), append(dendrite, s.DendriteCPUMS)
		if s.ServerMS >= 0 {
			server = append(server, s.ServerMS)
		}
	}
	return latencySummary{
		Condition: condition, N: len(samples),
		P50: percentile(client, 50), P90: percentile(client, 90), Max: percentile(client, 100),
		ServerP50: percentile(server, 50), ServerP90: percentile(server, 90), ServerMax: percentile(server, 100),
		DendriteCPUMS: percentile(dendrite, 50),
	}
}

// percentile by nearest rank; 0 for no values.
func percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	slices.Sort(v)
	rank := int(math.Ceil(p / 100 * float64(len(v))))
	return v[max(rank, 1)-1]
}
