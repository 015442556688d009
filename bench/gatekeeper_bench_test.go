package bench_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/policy"
)

var (
	flagGKClients = flag.Int("bench.gk-clients", 8, "gatekeeper load: concurrent clients")
	flagGKPhase   = flag.Duration("bench.gk-phase", 5*time.Second, "gatekeeper load: how long each path is loaded per workload and number of clients (in five slices, direct and gatekeeper in turn)")
	flagGKMemory  = flag.Duration("bench.gk-memory", 30*time.Second, "gatekeeper load: the mixed load through the gatekeeper during which its heap is sampled")
)

var gkLoadBench = &scenario[gkLoadResults]{
	why:  "a real Dendrite, direct and through the gatekeeper, loaded from loopback for about 90 s",
	test: "TestGatekeeperLoadScenario", timeout: "6m",
}

// gkRow is one workload on one path at one number of clients.
type gkRow struct {
	Workload string  `json:"workload"`
	Clients  int     `json:"clients"`
	Path     string  `json:"path"`
	N        int     `json:"n"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_us"`
	P99      float64 `json:"p99_us"`
}

// gkMemory is the heap in use of the process holding the gatekeeper (and
// the load generator; Caldicott is not started) during the mixed load.
type gkMemory struct {
	Seconds              float64 `json:"seconds"`
	Requests, Errors     int
	RPS                  float64 `json:"rps"`
	BeforeMiB, AfterMiB  float64 // after a collection, before and after the load
	FirstQuarterMiB      float64 // medians of the samples' first and last quarters
	LastQuarterMiB       float64
	MaxMiB               float64
	GoroutinesFirst      int
	GoroutinesLast       int
	GoroutinesMax        int
	Samples              int
	SampleEveryMillis    int64
	ClinicalRoomRefusals float64 // what the gatekeeper counted during it, a check on the load
}

type gkLoadResults struct {
	Rows     []gkRow  `json:"rows"`
	Memory   gkMemory `json:"memory"`
	Clients  int      `json:"clients"`
	PhaseS   float64  `json:"phase_s"`
	Cores    int      `json:"cores"`
	Dendrite string   `json:"dendrite"`
}

// BenchmarkGatekeeperLoad: the gatekeeper in front of a real Dendrite,
// side by side with the direct path in one run, from a Go load generator
// on loopback (docs/benchmarks.md, "Gatekeeper under load"): the latency
// of /sync (passed through) and /send (judged: scanned for NHS numbers)
// with 1 and -bench.gk-clients clients; a judged invite refused in a
// clinical room (its decision time, with the room's class remembered and
// with nothing remembered); the requests per second of each; and the
// heap in use sampled during -bench.gk-memory of mixed load.
//
//	go test -tags goolm -run '^$' -bench BenchmarkGatekeeperLoad -benchtime 1x -timeout 10m ./bench/
func BenchmarkGatekeeperLoad(b *testing.B) {
	out := gkLoadBench.run(b)
	for _, r := range out.Rows {
		name := fmt.Sprintf("%s-c%d-%s-", r.Workload, r.Clients, r.Path)
		b.ReportMetric(r.P50, name+"p50-µs")
		b.ReportMetric(r.P99, name+"p99-µs")
		b.ReportMetric(r.RPS, name+"req/s")
	}
	b.ReportMetric(out.Memory.FirstQuarterMiB, "heap-first-quarter-MiB")
	b.ReportMetric(out.Memory.LastQuarterMiB, "heap-last-quarter-MiB")
	b.ReportMetric(out.Memory.MaxMiB, "heap-max-MiB")
}

// TestGatekeeperLoadScenario is the benchmark's body, run in a child
// process (scenarioOnly).
func TestGatekeeperLoadScenario(t *testing.T) {
	scenarioOnly(t, "BenchmarkGatekeeperLoad")
	if *flagGKClients < 1 || *flagGKPhase < time.Second || *flagGKMemory < time.Second {
		t.Fatal("-bench.gk-clients wants at least 1, -bench.gk-phase and -bench.gk-memory at least 1s")
	}
	// Caldicott is not started: the process holds the gatekeepers and the
	// load generator only, so the heap sampled is theirs.
	tr := trust.New(t, benchOptions(trust.Options{Host: "127.0.0.11"}))
	alice := tr.HS.RegisterUser(t, "alice", false)
	cached, metrics := serveGatekeeper(t, tr, true)
	uncached, _ := serveGatekeeper(t, tr, false)
	w := &gkWorld{direct: tr.HS.URL, token: alice.AccessToken, alice: alice}
	w.rooms(t)
	res := gkLoadResults{Clients: *flagGKClients, PhaseS: flagGKPhase.Seconds(), Cores: runtime.NumCPU(), Dendrite: dendriteDatabaseName()}
	for _, clients := range slices.Compact([]int{1, *flagGKClients}) {
		for _, wl := range []string{"sync", "send"} {
			res.Rows = append(res.Rows, w.sideBySide(t, wl, clients, cached)...)
		}
		for _, gk := range []struct{ path, base string }{{"gatekeeper", cached}, {"gatekeeper-uncached", uncached}} {
			r := runLoad(clients, *flagGKPhase, w.token, true, func(int, int) loadRequest { return w.request("invite-refused", gk.base) })
			res.Rows = append(res.Rows, row("invite-refused", clients, gk.path, r))
		}
	}
	res.Memory = w.memory(t, cached, metrics)
	for _, r := range res.Rows {
		if r.N == 0 || r.Errors > r.N/100 {
			t.Errorf("%s with %d clients on the %s path: %d answered as expected, %d not", r.Workload, r.Clients, r.Path, r.N, r.Errors)
		}
	}
	if res.Memory.ClinicalRoomRefusals == 0 || res.Memory.Errors > res.Memory.Requests/100 {
		t.Errorf("the mixed load was not what it says: %+v", res.Memory)
	}
	t.Logf("%d clients, %s per path, Dendrite on %s, %d cores:\n%s\nmemory: %+v", res.Clients, *flagGKPhase, res.Dendrite, res.Cores, gkTable(res), res.Memory)
	if path := *flagResultsPath; path != "" {
		data, _ := json.Marshal(res)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// serveGatekeeper runs a gatekeeper in front of the trust's Dendrite as
// `caldicott gatekeeper` does (gatekeeper.Serve, the config's settings),
// remembering a room's class and a client's credentials for the default
// room_state_ttl, or (remember false) nothing, so that every decision
// reads both from Dendrite.
func serveGatekeeper(t *testing.T, tr *trust.Trust, remember bool) (string, *gatekeeper.Metrics) {
	t.Helper()
	s, err := gatekeeper.SettingsFrom(tr.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !remember {
		s.RoomStateTTL = 0
	}
	m := gatekeeper.NewMetrics(prometheus.NewRegistry())
	ln, err := net.Listen("tcp", "127.0.0.11:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- gatekeeper.Serve(runCtx, ln, gatekeeper.New(s, m, zerolog.Nop()).Handler(), s.Timeouts)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String(), m
}

// gkWorld is what the load works on: alice's token, a clinical room
// (org.caldicott.policy set as the bot would) and a room she chats in.
type gkWorld struct {
	direct, token      string
	alice              *mautrix.Client
	clinical, chatter  string
	since              string
	sendBody, inviteTo []byte
}

func (w *gkWorld) rooms(t *testing.T) {
	t.Helper()
	empty := ""
	clinical, err := w.alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", InitialState: []*event.Event{
		{Type: event.Type{Type: policy.PolicyEventType, Class: event.StateEventType}, StateKey: &empty, Content: event.Content{Raw: map[string]any{"class": "clinical"}}},
		{Type: event.StateEncryption, StateKey: &empty, Content: event.Content{Raw: map[string]any{"algorithm": policy.MegolmAlgorithm}}},
		// private_chat lets guests join; the gatekeeper refuses that for a clinical room.
		{Type: event.StateGuestAccess, StateKey: &empty, Content: event.Content{Raw: map[string]any{"guest_access": "forbidden"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	chatter, err := w.alice.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		t.Fatal(err)
	}
	w.clinical, w.chatter = url.PathEscape(clinical.RoomID.String()), url.PathEscape(chatter.RoomID.String())
	w.sendBody = []byte(`{"msgtype":"m.text","body":"Bed 4 handover moved to 8, nothing else changes tonight"}`)
	w.inviteTo = []byte(`{"user_id":"@eve:personal.example"}`)
}

// request is one request of a workload at base.
func (w *gkWorld) request(workload, base string) loadRequest {
	c := base + "/_matrix/client/v3"
	switch workload {
	case "sync":
		return loadRequest{method: "GET", url: c + "/sync?timeout=0&since=" + url.QueryEscape(w.since), want: 200}
	case "send":
		return loadRequest{method: "PUT", url: fmt.Sprintf("%s/rooms/%s/send/m.room.message/gk%d", c, w.chatter, txnIDs.Add(1)), body: w.sendBody, want: 200}
	default: // invite-refused: an outsider into the clinical room
		return loadRequest{method: "POST", url: c + "/rooms/" + w.clinical + "/invite", body: w.inviteTo, want: 403}
	}
}

// catchUp makes /sync since now return at once with nothing new.
func (w *gkWorld) catchUp(t *testing.T) {
	t.Helper()
	resp, err := w.alice.SyncRequest(ctx, 0, w.since, "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	w.since = resp.NextBatch
}

// sideBySide loads a workload on the direct path and through the
// gatekeeper in turn, in slices of a tenth of the phase (direct,
// gatekeeper, gatekeeper, direct, …), so both meet Dendrite's rooms at the
// same sizes and the machine's other work in equal measure.
func (w *gkWorld) sideBySide(t *testing.T, workload string, clients int, gk string) []gkRow {
	t.Helper()
	by := map[string]*loadResult{"direct": {}, "gatekeeper": {}}
	for i := range 10 {
		path := []string{"direct", "gatekeeper"}[(i+i/2)%2]
		base := w.direct
		if path == "gatekeeper" {
			base = gk
		}
		w.catchUp(t)
		by[path].add(runLoad(clients, *flagGKPhase/5, w.token, true, func(int, int) loadRequest { return w.request(workload, base) }))
	}
	return []gkRow{row(workload, clients, "direct", *by["direct"]), row(workload, clients, "gatekeeper", *by["gatekeeper"])}
}

func row(workload string, clients int, path string, r loadResult) gkRow {
	// Elapsed sums the slices; rps is per second of load.
	return gkRow{Workload: workload, Clients: clients, Path: path, N: r.N, Errors: r.Errors, RPS: r.rps(), P50: r.quantileMicros(0.5), P99: r.quantileMicros(0.99)}
}

// memory runs the three workloads at once through the gatekeeper, the
// clients shared among them, sampling the heap, and summarises it.
func (w *gkWorld) memory(t *testing.T, gk string, m *gatekeeper.Metrics) gkMemory {
	t.Helper()
	w.catchUp(t)
	workloads := []string{"sync", "send", "invite-refused"}
	before := heapAfterGC()
	every := 250 * time.Millisecond
	s := sampleHeap(every)
	refusedBefore := testutil.ToFloat64(m.Refusals.WithLabelValues(gatekeeper.EndpointClientInvite, policy.GateOutsideServer))
	// Each client keeps to one workload, so the refused invites (answered
	// by the gatekeeper alone) go at their own pace, not the sends'.
	r := runLoad(*flagGKClients, *flagGKMemory, w.token, false, func(c, _ int) loadRequest {
		return w.request(workloads[c%len(workloads)], gk)
	})
	s.finish()
	q := max(len(s.HeapMiB)/4, 1)
	refusals := testutil.ToFloat64(m.Refusals.WithLabelValues(gatekeeper.EndpointClientInvite, policy.GateOutsideServer)) - refusedBefore
	return gkMemory{
		Seconds: r.Elapsed.Seconds(), Requests: r.N, Errors: r.Errors, RPS: r.rps(),
		BeforeMiB: before, AfterMiB: heapAfterGC(),
		FirstQuarterMiB: percentile(s.HeapMiB[:q], 50), LastQuarterMiB: percentile(s.HeapMiB[len(s.HeapMiB)-q:], 50),
		MaxMiB:          percentile(s.HeapMiB, 100),
		GoroutinesFirst: s.Goroutines[0], GoroutinesLast: s.Goroutines[len(s.Goroutines)-1], GoroutinesMax: slices.Max(s.Goroutines),
		Samples: len(s.HeapMiB), SampleEveryMillis: every.Milliseconds(), ClinicalRoomRefusals: refusals,
	}
}

// gkTable is the figures as docs/benchmarks.md records them.
func gkTable(res gkLoadResults) string {
	var sb strings.Builder
	sb.WriteString("| workload | clients | path | req/s | p50 µs | p99 µs | errors |\n|---|---|---|---|---|---|---|\n")
	for _, r := range res.Rows {
		fmt.Fprintf(&sb, "| %s | %d | %s | %.0f | %.0f | %.0f | %d |\n", r.Workload, r.Clients, r.Path, r.RPS, r.P50, r.P99, r.Errors)
	}
	return sb.String()
}
