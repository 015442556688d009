package bench_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// The retention sweep benchmark (issue #9) writes tens of thousands of
// events to a real Dendrite and deletes them, so it runs only when named
// (and not under -short):
//
//	go test -tags goolm -run '^$' \
//	    -bench BenchmarkRetentionSweep -benchtime 1x -timeout 4h ./bench/
//
// (The scenario runs in a child process with its own 4-hour limit: with
// the default 100,000-event room it takes about two hours.)
//
// Sizes: -bench.sweep-n (default 3000) events in each of the two rooms of
// the rate comparison; -bench.sweep-big (default 100000) events in the big
// room; -bench.samples (default 30) latency samples per condition;
// -bench.sweep-senders (default 4) clients writing at once;
// -bench.sweep-wait (default 90m) the longest wait for the big sweep to
// finish. -bench.keep=<dir> keeps Caldicott's and Dendrite's logs, the
// figures, CPU profiles of the test process (Caldicott) during the sweeps,
// its heap profiles before, during (the latest) and after the big sweep,
// and Dendrite's (with PPROFLISTEN=127.0.0.1:<port>, which Dendrite
// inherits).
// sweepResults is what one run of the scenario measured.
type sweepResults struct {
	N     int       `json:"n"`
	Big   int       `json:"big"`
	Fills []fillRun `json:"fills"`
	// Rate: Caldicott's sweep of room A, then the bare client on room B.
	Caldicott redactionRun `json:"caldicott"`
	Bare      redactionRun `json:"bare"`
	// The big room.
	BigSweep   redactionRun  `json:"big_sweep"`
	BigDone    bool          `json:"big_done"`
	Memory     memorySummary `json:"memory"`
	MemSamples []memSample   `json:"mem_samples"`
	// Join→removal latency, idle and while the big room is swept.
	Summaries []latencySummary `json:"summaries"`
	Samples   []latencySample  `json:"samples"`
	Steps     []stepSummary    `json:"removal_steps"`
	Spoilt    int              `json:"spoilt"`
	AfterDone int              `json:"after_done"`
	CPU       []cpuUse         `json:"cpu"`
	Problems  map[string]int   `json:"problems"`
	// Notifications Dendrite kept per local user at the end.
	Notifications map[string]int `json:"dendrite_notifications"`
}

var sweepBench = &scenario[sweepResults]{
	why:  "it writes and deletes ~100,000 events on a real Dendrite: many minutes",
	test: "TestRetentionSweepScenario", timeout: "4h",
}

// BenchmarkRetentionSweep: the retention sweep on real Dendrite — its
// rate beside a bare client redacting the same kinds of events (target
// ≥ 0.9×), the heap while it sweeps a room of 100,000 events (flat), and
// join→removal latency while it does (within 1.2× of idle).
//
// Like BenchmarkParallelEnforcement, it runs its scenario
// (TestRetentionSweepScenario) in a child test process, since the harness
// takes a *testing.T, and reports the figures that writes.
func BenchmarkRetentionSweep(b *testing.B) {
	r := sweepBench.run(b)
	b.ReportMetric(r.Caldicott.ServerRate, "caldicott-events/s")
	b.ReportMetric(r.Bare.ServerRate, "bare-events/s")
	if r.Bare.ServerRate > 0 {
		b.ReportMetric(r.Caldicott.ServerRate/r.Bare.ServerRate, "caldicott/bare")
	}
	b.ReportMetric(r.BigSweep.ServerRate, "big-events/s")
	b.ReportMetric(r.Memory.LiveMiB[1], "live-heap-max-MiB")
	b.ReportMetric(r.Memory.LivePer10k, "live-heap-KiB/10k-events")
	by := reportLatencies(b, r.Summaries)
	if idle, loaded := by["caldicott-idle"], by["caldicott-sweeping"]; idle.N > 0 && loaded.N > 0 {
		b.ReportMetric(loaded.P50/idle.P50, "sweeping/idle-p50")
		b.ReportMetric(loaded.P90/idle.P90, "sweeping/idle-p90")
	}
}

// TestRetentionSweepScenario is the benchmark's body, run in a child process
// (scenarioOnly).
func TestRetentionSweepScenario(t *testing.T) {
	scenarioOnly(t, "BenchmarkRetentionSweep")
	n := *flagSweepN
	big := *flagSweepBig
	perCondition := samplesOr(30)
	nSenders := *flagSweepSenders
	maxWait := *flagSweepWait
	keep := *flagKeepDir
	// Heap profiles fine enough to see a few hundred KiB: at the default
	// one sample per 512 KiB, a 3 MiB heap is six samples.
	runtime.MemProfileRate = 16 << 10
	zerolog.TimeFieldFormat = time.RFC3339Nano // log lines told apart by time
	// Clinical messages expire after 2 s and every room is swept each
	// second; the other periodic jobs are kept out of the way.
	tr := trust.New(t, benchOptions(trust.Options{Host: "127.0.0.11", ConfigYAML: `retention: {clinical: {default: 2s, min: 1s, max: 1h}, sweep_interval: 1s, batch: 500}` + "\ndirectory: {sync_interval: 24h}\nreview: {check_interval: 24h}\nverification: {check_interval: 24h}\n"}))
	if keep != "" {
		t.Cleanup(func() {
			trust.KeepLog(t, tr.LogPath, filepath.Join(keep, "caldicott.log"))
			trust.KeepLog(t, filepath.Join(tr.HS.Dir, "dendrite.log"), filepath.Join(keep, "dendrite.log"))
		})
	}
	bare := startBareAppservice(t, tr)
	tr.Start(t)
	bot := tr.BotID()
	cores := runtime.NumCPU()
	began := time.Now()
	res := sweepResults{N: n, Big: big, Problems: map[string]int{}}
	save := func() { writeSweepResults(t, res, keep) }

	// The clinicians: Alice is every room's admin; the others write too;
	// Olive watches the rooms where invitations are timed.
	alice := tr.HS.RegisterUser(t, "alice", false)
	senders := []*mautrix.Client{alice}
	staff := []store.StaffRecord{{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"}}
	for i := 1; i < nSenders; i++ {
		cli := tr.HS.RegisterUser(t, fmt.Sprintf("nurse%d", i), false)
		senders = append(senders, cli)
		staff = append(staff, store.StaffRecord{UserID: cli.UserID.String(), Name: fmt.Sprintf("Nurse %d", i), Role: "Staff Nurse", Team: "Cardiology", Registration: fmt.Sprintf("NMC 12A345%d", i), Status: "active", Source: "csv"})
	}
	olive := tr.HS.RegisterUser(t, "olive", false)
	staff = append(staff, store.StaffRecord{UserID: olive.UserID.String(), Name: "Olive Jones", Role: "Ward Clerk", Team: "Cardiology", Status: "active", Source: "csv"})
	if err := tr.Store.UpsertStaff(ctx, staff); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := tr.IGAdmin(t)
	hold := func(room id.RoomID) {
		testenv.Say(t, ig, mgmt, "!policy hold on "+room.String()+" benchmark: kept while the room is filled")
		testenv.WaitForNotice(t, ig, mgmt, bot, "Legal hold placed on "+room.String())
	}
	lift := func(room id.RoomID) {
		testenv.Say(t, ig, mgmt, "!policy hold off "+room.String())
	}

	// Three clinical rooms to be filled, each on legal hold until its
	// deletion is measured (messages expire after 2 s), and three where
	// invitations are timed.
	roomA := tr.ClinicalRoom(t, alice, senders[1:]...)
	hold(roomA)
	roomB := tr.ClinicalRoom(t, alice, senders[1:]...)
	hold(roomB)
	roomC := tr.ClinicalRoom(t, alice, senders[1:]...)
	hold(roomC)
	var sampleRooms []id.RoomID
	for range 3 {
		sampleRooms = append(sampleRooms, tr.ClinicalRoom(t, alice, olive))
	}
	bareRoom := bare.room(t, alice, olive)

	// Muted for everyone in them before they are filled (see muteRoom).
	botCli, err := mautrix.NewClient(tr.HS.URL, bot, tr.Config.AppService.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, cli := range append(slices.Clone(senders), botCli) {
		for _, room := range []id.RoomID{roomA, roomB, roomC} {
			muteRoom(t, cli, room)
		}
	}

	// 1. Rate: rooms A and B filled alike at once; Caldicott's sweep
	// deletes A's events, then the bare client (Alice, power 100) B's.
	var wg sync.WaitGroup
	var fillA, fillB fillRun
	var idsA, idsB []id.EventID
	wg.Add(2)
	go func() { defer wg.Done(); fillA, idsA = fillRoom(t, roomA, senders, n, true) }()
	go func() { defer wg.Done(); fillB, idsB = fillRoom(t, roomB, senders, n, true) }()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	res.Fills = append(res.Fills, fillA, fillB)
	settle(t, tr)

	cpu := takeCPUSnapshot()
	stopProfile := profileSelf(t, keep, "caldicott-sweep-rate.pprof")
	profiled := profileDendrite(t, "dendrite-sweep-rate.pprof", 20)
	base := sweptIn(t, tr, roomA)
	liftAt := time.Now()
	lift(roomA)
	waitSwept(t, tr, roomA, base+int64(n), 30*time.Minute)
	doneAt := time.Now()
	stopProfile()
	profiled()
	res.Caldicott = redactionRun{Who: "caldicott", Room: roomA, Events: n, CPU: cpuSince("Caldicott sweeps room A", cpu, cores)}
	checkRedactions(t, alice, &res.Caldicott, bot, idsA)
	res.Caldicott.WallSecs = float64(res.Caldicott.LastTS)/1000 - float64(liftAt.UnixMilli())/1000
	res.Caldicott.WallRate = float64(n) / res.Caldicott.WallSecs
	caldicottRequests(t, tr.LogPath, roomA, liftAt, doneAt, &res.Caldicott)
	t.Logf("Caldicott swept %d events of room A: %.1f events/s (server timestamps), first deletion %.1f s after the hold was lifted",
		n, res.Caldicott.ServerRate, float64(res.Caldicott.FirstTS-liftAt.UnixMilli())/1000)
	settle(t, tr)

	cpu = takeCPUSnapshot()
	profiled = profileDendrite(t, "dendrite-bare-rate.pprof", 20)
	res.Bare = bareRedact(t, alice, roomB, idsB)
	res.Bare.CPU = cpuSince("bare client redacts room B", cpu, cores)
	profiled()
	checkRedactions(t, alice, &res.Bare, alice.UserID, idsB)
	t.Logf("the bare client redacted %d events of room B: %.1f events/s (server timestamps)", n, res.Bare.ServerRate)
	res.CPU = append(res.CPU, res.Caldicott.CPU, res.Bare.CPU)
	idsA, idsB = nil, nil
	save()

	// 2 and 3. The big room, filled while on hold.
	fillC, _ := fillRoom(t, roomC, senders, big, false)
	res.Fills = append(res.Fills, fillC)
	settle(t, tr)
	watch := watchMembers(t, olive, append(append([]id.RoomID{}, sampleRooms...), bareRoom))
	// Enough visitors for rounds of samples to be taken again when some
	// are spoilt by other processes; each phase has its own.
	sampler := &sampler{w: watch, alice: alice, bot: bot, barebot: bare.bot, rooms: sampleRooms, bareRoom: bareRoom, round: 2 * perCondition}
	sampler.visitors = registerVisitors(t, tr.HS, "i", 6*perCondition)
	sweepVisitors := registerVisitors(t, tr.HS, "s", 6*perCondition)
	waitForQuietMachine(t, 3*time.Minute, true)

	cpu = takeCPUSnapshot()
	idle := sampler.until(t, "idle", func(got []latencySample) bool {
		return countClean(got, "caldicott") >= perCondition && countClean(got, "bare") >= perCondition
	})
	res.CPU = append(res.CPU, cpuSince("idle samples", cpu, cores))

	sampler.visitors = sweepVisitors
	waitForQuietMachine(t, 5*time.Minute, false)
	mem := watchMemory(t, tr, roomC)
	time.Sleep(5 * time.Second) // the heap before the sweep
	writeHeapProfile(t, keep, "caldicott-heap-before.pprof")
	base = sweptIn(t, tr, roomC)
	target := base + int64(big)
	cpu = takeCPUSnapshot()
	bigCPU := cpu
	stopProfile = profileSelf(t, keep, "caldicott-big-sweep.pprof")
	profiled = profileDendrite(t, "dendrite-big-sweep.pprof", 30)
	liftAt = time.Now()
	lift(roomC)
	sweeping := sampler.until(t, "sweeping", func(got []latencySample) bool {
		if sweptIn(t, tr, roomC) >= target {
			t.Logf("the big sweep finished while samples were taken")
			return true
		}
		return countClean(got, "caldicott") >= perCondition && countClean(got, "bare") >= perCondition
	})
	res.CPU = append(res.CPU, cpuSince("samples while sweeping", cpu, cores))
	res.Samples = append(slices.Clone(idle), sweeping...)
	save() // the raw samples now, in case the big sweep outlasts the run
	profiled()
	cpu = takeCPUSnapshot()
	// The heap so far is written with every progress line: a run cut short
	// (a child-process timeout killed one at 97% of 100,000) keeps it.
	res.BigDone = waitSweptOrNot(t, tr, roomC, target, maxWait-time.Since(liftAt), func() {
		res.MemSamples = mem.Snapshot()
		res.Memory = summarizeMemory(res.MemSamples, base)
		save()
		writeHeapProfile(t, keep, "caldicott-heap-latest.pprof")
	})
	doneAt = time.Now()
	time.Sleep(5 * time.Second) // the heap after it
	samples := mem.Stop()
	stopProfile() // after the heap samples: writing the profile allocates
	writeHeapProfile(t, keep, "caldicott-heap-after.pprof")
	res.CPU = append(res.CPU, cpuSince("rest of the big sweep", cpu, cores))
	res.MemSamples = samples
	res.Memory = summarizeMemory(samples, base)
	res.BigSweep = redactionRun{Who: "caldicott", Room: roomC, Events: big, CPU: cpuSince("the whole big sweep", bigCPU, cores)}
	st, err := tr.Store.SweepStateOf(ctx, roomC.String())
	if err != nil {
		t.Fatal(err)
	}
	res.BigSweep.Redacted = int(st.Redacted - base)
	res.BigSweep.WallSecs = doneAt.Sub(liftAt).Seconds()
	res.BigSweep.WallRate = float64(res.BigSweep.Redacted) / res.BigSweep.WallSecs
	caldicottRequests(t, tr.LogPath, roomC, liftAt, doneAt, &res.BigSweep)
	if span := res.BigSweep.ReqLast.Sub(res.BigSweep.ReqFirst).Seconds(); res.BigSweep.Requests > 1 && span > 0 {
		// From the first redaction request to the last, in Caldicott's log
		// (the big room's history is not read back: 200,000 events).
		res.BigSweep.ServerRate = float64(res.BigSweep.Requests-1) / span
		if res.BigDone {
			doneAt = res.BigSweep.ReqLast
		}
	}

	// Figures.
	groups := map[string][]latencySample{}
	for _, s := range idle {
		if s.ForeignPct > foreignLimit {
			res.Spoilt++
			continue
		}
		groups[s.Enforcer+"-idle"] = append(groups[s.Enforcer+"-idle"], s)
	}
	for _, s := range sweeping {
		switch {
		case s.ForeignPct > foreignLimit:
			res.Spoilt++
		case s.Invited.After(doneAt):
			res.AfterDone++
		default:
			groups[s.Enforcer+"-sweeping"] = append(groups[s.Enforcer+"-sweeping"], s)
		}
	}
	for _, c := range []string{"caldicott-idle", "caldicott-sweeping", "bare-idle", "bare-sweeping"} {
		res.Summaries = append(res.Summaries, summarize(c, groups[c]))
	}
	in := func(c string) func(latencySample) bool {
		set := map[time.Time]bool{}
		for _, s := range groups[c] {
			set[s.Invited] = true
		}
		return func(s latencySample) bool { return set[s.Invited] }
	}
	res.Steps = removalBreakdown(t, tr.LogPath, append(slices.Clone(idle), sweeping...),
		map[string]func(latencySample) bool{"caldicott-idle": in("caldicott-idle"), "caldicott-sweeping": in("caldicott-sweeping")})
	res.Samples = append(idle, sweeping...)
	tr.Stop(t)
	res.Problems = logProblems(t, tr.LogPath, began)
	close(bare.errs)
	for err := range bare.errs {
		t.Errorf("bare appservice: %v", err)
	}
	tr.HS.Stop()
	res.Notifications = dendriteNotifications(t, tr)
	logSweepResults(t, res)
	save()
}

// settle waits until Caldicott has handled what filling a room sent it
// and Dendrite has finished with it, so that one measurement does not pay
// for the last.
func settle(t *testing.T, tr *trust.Trust) {
	t.Helper()
	waitForInboxDrained(t, tr, 10*time.Minute)
	waitForQuietMachine(t, 4*time.Minute, true)
}

// sweptIn is how many events Caldicott's sweep has deleted in room so far.
func sweptIn(t *testing.T, tr *trust.Trust, room id.RoomID) int64 {
	t.Helper()
	st, err := tr.Store.SweepStateOf(ctx, room.String())
	if err != nil {
		t.Fatal(err)
	}
	return st.Redacted
}

// waitSwept waits until the sweep has deleted target events in room (a
// count kept across passes) and caught up.
func waitSwept(t *testing.T, tr *trust.Trust, room id.RoomID, target int64, within time.Duration) {
	t.Helper()
	if !waitSweptOrNot(t, tr, room, target, within, func() {}) {
		t.Fatalf("the sweep of %s did not finish within %s", room, within)
	}
}

func waitSweptOrNot(t *testing.T, tr *trust.Trust, room id.RoomID, target int64, within time.Duration, progress func()) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	lastSaid := time.Now()
	for time.Now().Before(deadline) {
		st, err := tr.Store.SweepStateOf(ctx, room.String())
		if err != nil {
			t.Fatal(err)
		}
		if st.Redacted >= target && st.Backlog == 0 {
			return true
		}
		if time.Since(lastSaid) > time.Minute {
			t.Logf("sweep of %s: %d deleted so far (want %d), backlog %d, last error %q", room, st.Redacted, target, st.Backlog, st.LastError)
			lastSaid = time.Now()
			progress()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the sweep of %s did not finish within %s", room, within)
	return false
}

// profileSelf takes a CPU profile of the test process (Caldicott and the
// harness) until the returned func is called, when dir is set.
func profileSelf(t *testing.T, dir, name string) (stop func()) {
	t.Helper()
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		t.Logf("profile the test process: %v", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func writeSweepResults(t *testing.T, res sweepResults, keep string) {
	t.Helper()
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if path := *flagResultsPath; path != "" {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if keep != "" {
		_ = os.WriteFile(filepath.Join(keep, "results.json"), data, 0o644)
	}
}
