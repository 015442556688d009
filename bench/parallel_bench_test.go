package bench_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// The parallel enforcement benchmark takes many minutes (it creates a
// thousand clinical rooms on a real Dendrite), so it runs only when named
// (and not under -short):
//
//	go test -tags goolm -run '^$' \
//	    -bench BenchmarkParallelEnforcement -benchtime 1x -timeout 3h ./bench/
//
// -bench.rooms (default 1000) and -bench.samples (per condition, default
// 30) shrink or grow it; -bench.keep=<dir> keeps Caldicott's and
// Dendrite's logs and the figures there (and Dendrite CPU profiles, with
// PPROFLISTEN=127.0.0.1:<port> in the environment, which Dendrite
// inherits); -bench.verification sets verification.mode and
// -bench.encryption turns the bot's encryption device on.
// parallelResults is what one run of the scenario measured.
type parallelResults struct {
	Rooms            int              `json:"rooms"`
	RoomCreationSecs float64          `json:"room_creation_s"`
	StartupReady     float64          `json:"startup_ready_s"`
	StartupRooms     int64            `json:"startup_rooms"`
	Reconciliations  []jobRun         `json:"reconciliations"`
	Summaries        []latencySummary `json:"summaries"`
	Samples          []latencySample  `json:"samples"`
	// BetweenRuns counts samples taken in the gap between two
	// reconciliations, left out of the figures.
	BetweenRuns int `json:"between_runs"`
	// Spoilt counts samples during which other processes used more than
	// foreignLimit per cent of the machine, left out too.
	Spoilt   int            `json:"spoilt"`
	Problems map[string]int `json:"problems"`
	CPU      []cpuUse       `json:"cpu"`
}

var parallelBench = &scenario[parallelResults]{
	why:  "it creates 1,000 clinical rooms on a real Dendrite: many minutes",
	test: "TestParallelEnforcementScenario", timeout: "3h",
}

// BenchmarkParallelEnforcement: join→removal latency for an invitee who is
// not in the staff directory, in a clinical room, while Caldicott is idle,
// while it reconciles every one of 1,000 clinical rooms, and for a bare
// appservice on the same Dendrite that kicks every invitee. Target: while
// reconciling, within 1.2× of idle.
//
// The scenario (TestParallelEnforcementScenario) runs once, in a child process
// of its own (see scenario), and writes its figures for the benchmark to report.
func BenchmarkParallelEnforcement(b *testing.B) {
	res := parallelBench.run(b)
	by := reportLatencies(b, res.Summaries)
	idle, loaded, bare := by["caldicott-idle"], by["caldicott-reconciling"], by["bare-idle"]
	if idle.N > 0 && loaded.N > 0 && bare.N > 0 {
		b.ReportMetric(loaded.P50/idle.P50, "reconciling/idle-p50")
		b.ReportMetric(loaded.P90/idle.P90, "reconciling/idle-p90")
		b.ReportMetric(loaded.P50/bare.P50, "reconciling/bare-p50")
	}
	if restarted := by["caldicott-restarted"]; restarted.N > 0 && idle.N > 0 && loaded.N > 0 {
		b.ReportMetric(restarted.P50/idle.P50, "restarted/idle-p50")
		b.ReportMetric(loaded.P50/restarted.P50, "reconciling/restarted-p50")
		b.ReportMetric(loaded.P90/restarted.P90, "reconciling/restarted-p90")
	}
	b.ReportMetric(float64(res.Rooms), "rooms")
}

// TestParallelEnforcementScenario is the benchmark's body, run in a child
// process (scenarioOnly).
func TestParallelEnforcementScenario(t *testing.T) {
	scenarioOnly(t, "BenchmarkParallelEnforcement")
	rooms := *flagRooms
	perCondition := samplesOr(30)
	// Reconciliations are told apart in Caldicott's log by time.
	zerolog.TimeFieldFormat = time.RFC3339Nano
	// Reconciliation is the only long job: the directory sweep, reviews and
	// the periodic verification check would otherwise join in.
	verification := "verification: {check_interval: 24h}\n"
	if mode := *flagVerification; mode != "" {
		// e.g. off: no device-list /sync by the bot, for comparison.
		verification = fmt.Sprintf("verification: {check_interval: 24h, mode: %s}\n", mode)
	}
	// -bench.encryption: as deployed, the bot's encryption device on, its
	// /sync the one that also watches device lists.
	tr := trust.New(t, benchOptions(trust.Options{Host: "127.0.0.11", Encryption: *flagEncryption, ConfigYAML: "directory: {sync_interval: 24h}\nreview: {check_interval: 24h}\n" + verification}))
	if dir := *flagKeepDir; dir != "" {
		// Registered after trust.New's clean-up, so it runs first (with the
		// logs still there), on failure too.
		t.Cleanup(func() {
			trust.KeepLog(t, tr.LogPath, filepath.Join(dir, "caldicott.log"))
			trust.KeepLog(t, filepath.Join(tr.HS.Dir, "dendrite.log"), filepath.Join(dir, "dendrite.log"))
		})
	}
	bare := startBareAppservice(t, tr)
	tr.Start(t)
	// Alice is the rooms' admin; Olive only watches the two rooms where
	// samples are taken (Alice, in a thousand rooms, syncs too slowly to
	// time anything by).
	alice := tr.HS.RegisterUser(t, "alice", false)
	olive := tr.HS.RegisterUser(t, "olive", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"},
		{UserID: olive.UserID.String(), Name: "Olive Jones", Role: "Ward Clerk", Team: "Cardiology", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	res := parallelResults{Rooms: rooms, Problems: map[string]int{}}

	// 1. A thousand clinical rooms, made by the bot on Alice's request, and
	// Alice (their admin) in each.
	began := time.Now()
	wards := createWards(t, tr, alice, rooms, 4)
	res.RoomCreationSecs = time.Since(began).Seconds()
	t.Logf("created %d clinical rooms, Alice joined to each, in %s", len(wards), time.Since(began).Round(time.Second))
	policies, err := tr.Store.RoomPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clinical := 0
	for _, p := range policies {
		if p.Class == "clinical" {
			clinical++
		}
	}
	if clinical < rooms {
		t.Fatalf("Caldicott records %d clinical rooms, want at least %d", clinical, rooms)
	}
	// Samples go round ten clinical rooms spread over the thousand: where
	// a room falls in a reconciliation's order matters (see the figures).
	var sampleRooms []id.RoomID
	for i := range min(10, rooms) {
		room := wards[i*rooms/min(10, rooms)]
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: olive.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := olive.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
		sampleRooms = append(sampleRooms, room)
	}
	bareRoom := bare.room(t, alice, olive)
	cores := runtime.NumCPU()

	// 2. Idle: a restart reconciles every room at start-up; once it is
	// ready and quiet, nothing runs but enforcement.
	tr.Stop(t)
	restarted := time.Now()
	tr.Launch(t)
	tr.WaitReady(t, 15*time.Minute)
	res.StartupReady = time.Since(restarted).Seconds()
	res.StartupRooms = reconciledRoomsSince(t, tr.LogPath, restarted)
	t.Logf("restart: start-up reconciliation of %d rooms; ready after %s", res.StartupRooms, time.Since(restarted).Round(time.Millisecond))
	watch := watchMembers(t, olive, append(slices.Clone(sampleRooms), bareRoom))
	// Every visitor now, while nothing is measured: enough for rounds of
	// samples to be taken again when some are spoilt by other processes.
	visitors := registerVisitors(t, tr.HS, "v", 10*perCondition)
	sampler := &sampler{w: watch, alice: alice, bot: tr.BotID(), barebot: bare.bot, rooms: sampleRooms, bareRoom: bareRoom, visitors: visitors, round: 2 * perCondition}
	waitForQuietMachine(t, 30*time.Minute, true)
	// Ten seconds in which no one asks anything: what Dendrite and
	// Caldicott do on their own with a thousand rooms.
	cpu := takeCPUSnapshot()
	profiled := profileDendrite(t, "dendrite-quiet.pprof", 10)
	time.Sleep(10 * time.Second)
	profiled()
	res.CPU = append(res.CPU, cpuSince("nothing asked", cpu, cores))
	// withoutPass takes a phase's samples with no reconciliation running
	// (Dendrite profiled meanwhile), and fails if one ran.
	withoutPass := func(phase, profile, label string) []latencySample {
		from, cpu := time.Now(), takeCPUSnapshot()
		profiled := profileDendrite(t, profile, 20)
		got := sampler.until(t, phase, func(got []latencySample) bool {
			return countClean(got, "caldicott") >= perCondition && countClean(got, "bare") >= perCondition
		})
		res.CPU = append(res.CPU, cpuSince(label, cpu, cores))
		profiled()
		if runs := reconciliations(t, tr.LogPath, from); len(runs) > 0 {
			t.Fatalf("a reconciliation ran during the %s: %+v", label, runs)
		}
		return got
	}
	samples := withoutPass("idle", "dendrite-idle.pprof", "idle samples")

	// 3. Restarted: the same configuration, restarted as for the
	// reconciling samples below and left to settle the same way, with no
	// reconciliation but the start-up one. Sets what a restart and the
	// start-up pass leave behind in Dendrite apart from the cost of a
	// reconciliation that runs beside the samples.
	people := &comings{alice: alice, room: wards[rooms/min(10, rooms)/2], visitors: registerVisitors(t, tr.HS, "k", 40), every: 15 * time.Second}
	restartAndSettle(t, tr, tr.YAML, people)
	restartedSamples := withoutPass("restarted", "dendrite-restarted.pprof", "samples after a restart")

	// 4. Reconciling: restarted with reconciliation every second, so that
	// once the start-up one is done they run back to back; samples are
	// taken until enough were invited while one ran.
	yml := strings.Replace(tr.YAML, "policy: {reconcile_interval: 0s}", "policy: {reconcile_interval: 1s}", 1)
	if yml == tr.YAML {
		t.Fatal("the harness's config no longer says policy: {reconcile_interval: 0s}; update this benchmark")
	}
	loadedFrom := restartAndSettle(t, tr, yml, people)
	cpu = takeCPUSnapshot()
	profiled = profileDendrite(t, "dendrite-reconciling.pprof", 20)
	loaded := sampler.until(t, "reconciling", func(got []latencySample) bool {
		runs := reconciliations(t, tr.LogPath, loadedFrom)
		var during []latencySample
		for i := range got {
			got[i].DuringReconciliation = withinRun(got[i], runs)
			if got[i].DuringReconciliation {
				during = append(during, got[i])
			}
		}
		t.Logf("%d reconciliations so far; %d clean Caldicott samples invited during one", len(runs), countClean(during, "caldicott"))
		return countClean(during, "caldicott") >= perCondition && countClean(during, "bare") >= perCondition
	})
	res.CPU = append(res.CPU, cpuSince("samples while reconciling", cpu, cores))
	profiled()
	markQueuedBehindReconciliation(t, tr.LogPath, loadedFrom, loaded)
	tr.Stop(t)
	res.Reconciliations = reconciliations(t, tr.LogPath, loadedFrom)
	res.Problems = logProblems(t, tr.LogPath, began)
	close(bare.errs)
	for err := range bare.errs {
		t.Errorf("bare appservice: %v", err)
	}

	// 5. Figures.
	groups := map[string][]latencySample{}
	for _, s := range samples {
		if s.ForeignPct > foreignLimit {
			res.Spoilt++
			continue
		}
		groups[s.Enforcer+"-idle"] = append(groups[s.Enforcer+"-idle"], s)
	}
	for _, s := range restartedSamples {
		if s.ForeignPct > foreignLimit {
			res.Spoilt++
			continue
		}
		groups[s.Enforcer+"-restarted"] = append(groups[s.Enforcer+"-restarted"], s)
	}
	for _, s := range loaded {
		if s.ForeignPct > foreignLimit {
			res.Spoilt++
			continue
		}
		if !s.DuringReconciliation {
			res.BetweenRuns++
			continue
		}
		groups[s.Enforcer+"-reconciling"] = append(groups[s.Enforcer+"-reconciling"], s)
	}
	for _, s := range groups["caldicott-reconciling"] {
		if s.QueuedBehindReconciliation {
			groups["caldicott-reconciling-queued"] = append(groups["caldicott-reconciling-queued"], s)
		} else {
			groups["caldicott-reconciling-not-queued"] = append(groups["caldicott-reconciling-not-queued"], s)
		}
	}
	for _, c := range []string{"caldicott-idle", "caldicott-restarted", "caldicott-reconciling", "bare-idle", "bare-restarted", "bare-reconciling", "caldicott-reconciling-queued", "caldicott-reconciling-not-queued"} {
		res.Summaries = append(res.Summaries, summarize(c, groups[c]))
	}
	res.Samples = slices.Concat(samples, restartedSamples, loaded)
	logParallelResults(t, res)
	if path := *flagResultsPath; path != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if dir := *flagKeepDir; dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "results.json"), data, 0o644)
		}
	}
}

// settleAfterRestart: how long Dendrite is left after Caldicott's start-up
// reconciliation, with people coming and going, before samples are taken.
const settleAfterRestart = 20 * time.Second

// restartAndSettle restarts Caldicott with the configuration yml, waits
// for its start-up reconciliation, and keeps people coming and going while
// Dendrite settles; it returns when Caldicott was started.
func restartAndSettle(t *testing.T, tr *trust.Trust, yml string, people *comings) time.Time {
	t.Helper()
	tr.Stop(t)
	cfg, err := config.Parse([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	tr.Config = cfg
	from := time.Now()
	tr.Launch(t)
	tr.WaitReady(t, 15*time.Minute)
	stop := people.start(t)
	time.Sleep(settleAfterRestart)
	// As before the idle samples, until Dendrite too is quiet: the start-up
	// pass leaves it busy for a while (run F: without this, samples after a
	// restart with no pass at all were 1.46× idle at p90). A paced pass
	// keeps it under the threshold; three minutes bound the wait.
	waitForQuietMachine(t, 3*time.Minute, true)
	stop()
	return from
}
