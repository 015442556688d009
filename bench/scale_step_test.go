package bench_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// phaseMax bounds a job phase's sampling: a job whose runs are too short
// to sample during gets what fits in it.
const phaseMax = 2 * time.Minute

// stepMeasure takes one room count's figures, phase by phase: a restart
// (start-up to ready and to caught up, samples meanwhile), idle, then
// each long job run back to back with samples taken during its runs.
type stepMeasure struct {
	t    *testing.T
	tr   *trust.Trust
	dir  *staffDirectory
	sm   *sampler
	mem  *rssWatch
	per  int
	step *scaleStep
	last bool // the run's last step: no restart after it
	// noJobs: start-up and idle only (-bench.scale-jobs-upto).
	noJobs bool
	// samples by condition (enforcer-phase), kept when they count.
	groups map[string][]latencySample
}

func (m *stepMeasure) run() {
	m.step.Jobs = map[string]jobFigures{}
	m.groups = map[string][]latencySample{}
	m.startUp()
	m.idle()
	if !m.noJobs {
		m.jobPhases()
	}
	if !m.last {
		// Quiet again for the next step's room creation.
		m.restart(scaleJobs{}, false)
		m.tr.WaitReady(m.t, time.Hour)
	}
	for _, c := range []string{"start-up", "idle", "reconcile", "reviews", "directory"} {
		for _, e := range []string{"caldicott", "bare"} {
			m.step.Latency = append(m.step.Latency, summarize(e+"-"+c, m.groups[e+"-"+c]))
		}
	}
	m.step.RSSMB = m.mem.maxOverall()
}

// jobPhases runs the three long jobs' phases in turn.
func (m *stepMeasure) jobPhases() {
	m.jobPhase("reconcile", "reconcile", scaleJobs{}, true, nil)
	m.jobPhase("reviews", "reviews", scaleJobs{reviews: true}, false, m.makeReviewsDue)
	m.jobPhase("directory", "directory-sweep", scaleJobs{directory: true}, false, func() time.Time {
		marked := time.Now()
		n := m.dir.markLeavers(m.t)
		m.t.Logf("%d staff marked as leavers in LDAP in %s", n, time.Since(marked).Round(time.Millisecond))
		return marked
	})
}

// restart restarts Caldicott with jobs (and the reconciliation every
// second when reconcile), returning when it was launched.
func (m *stepMeasure) restart(jobs scaleJobs, reconcile bool) time.Time {
	t := m.t
	t.Helper()
	m.tr.Stop(t)
	yml := strings.Replace(m.tr.YAML, m.dir.yaml(scaleJobs{}), m.dir.yaml(jobs), 1)
	if reconcile {
		yml = strings.Replace(yml, "policy: {reconcile_interval: 0s}", "policy: {reconcile_interval: 1s}", 1)
	}
	if yml == m.tr.YAML && (reconcile || jobs != scaleJobs{}) {
		t.Fatal("the harness's config changed shape; update the scale benchmark's restart")
	}
	cfg, err := config.Parse([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	m.tr.Config = cfg
	from := time.Now()
	m.tr.Launch(t)
	return from
}

// startUp: start-up to ready (enforcing) and to caught up, with samples
// taken while the start-up catch-up runs.
func (m *stepMeasure) startUp() {
	t := m.t
	m.mem.setPhase("start-up")
	cpu := takeCPUSnapshot()
	from := m.restart(scaleJobs{}, false)
	stopProfile := m.profile("cpu-startup")
	m.tr.WaitEnforcing(t, 15*time.Minute)
	m.step.EnforcingSecs = time.Since(from).Seconds()
	caught := make(chan time.Time, 1)
	go func() {
		<-m.tr.Service.CaughtUp()
		caught <- time.Now()
	}()
	var caughtAt time.Time
	samples := m.sm.until(t, "start-up", func(got []latencySample) bool {
		select {
		case caughtAt = <-caught:
			return true
		default:
			return count(got, "caldicott") >= 3*m.per && count(got, "bare") >= 3*m.per
		}
	})
	m.tr.WaitReady(t, time.Hour)
	if caughtAt.IsZero() {
		caughtAt = <-caught
	}
	stopProfile()
	m.step.CaughtUpSecs = caughtAt.Sub(from).Seconds()
	m.step.StartupRooms = reconciledRoomsSince(t, m.tr.LogPath, from)
	for _, s := range samples {
		if s.Invited.Before(caughtAt) {
			m.groups[s.Enforcer+"-start-up"] = append(m.groups[s.Enforcer+"-start-up"], s)
		}
	}
	m.step.Samples = append(m.step.Samples, samples...)
	m.endPhase("start-up", cpu)
	t.Logf("%d rooms: ready (enforcing) %.1f s after launch, caught up after %.1f s (%d rooms reconciled); load %.1f",
		m.step.Rooms, m.step.EnforcingSecs, m.step.CaughtUpSecs, m.step.StartupRooms, load1())
}

// idle: samples with nothing but enforcement running, and memory.
func (m *stepMeasure) idle() {
	t := m.t
	m.mem.setPhase("idle")
	cpu := takeCPUSnapshot()
	samples := m.sm.until(t, "idle", func(got []latencySample) bool {
		return count(got, "caldicott") >= m.per && count(got, "bare") >= m.per
	})
	for _, s := range samples {
		m.groups[s.Enforcer+"-idle"] = append(m.groups[s.Enforcer+"-idle"], s)
	}
	m.step.Samples = append(m.step.Samples, samples...)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.step.IdleHeapMB = float64(ms.HeapAlloc) / (1 << 20)
	m.step.IdleRSSMB = rssMB()
	if keep := *flagKeepDir; keep != "" {
		if f, err := os.Create(filepath.Join(keep, "heap-"+itoa(m.step.Rooms)+".pprof")); err == nil {
			_ = pprofHeap(f)
			f.Close()
		}
	}
	m.endPhase("idle", cpu)
}

// jobPhase restarts with one long job run back to back, waits for the
// start-up catch-up, runs prepare (which says from when the job's runs
// count), and takes samples until enough were invited during its runs.
func (m *stepMeasure) jobPhase(phase, job string, jobs scaleJobs, reconcile bool, prepare func() time.Time) {
	t := m.t
	m.restart(jobs, reconcile)
	m.tr.WaitReady(t, time.Hour)
	m.mem.setPhase(phase)
	cpu := takeCPUSnapshot()
	from := time.Now()
	if prepare != nil {
		from = prepare()
	}
	stopProfile := m.profile("cpu-" + phase)
	began := time.Now()
	samples := m.sm.until(t, phase, func(got []latencySample) bool {
		runs := jobRunsOf(t, m.tr.LogPath, job, from)
		n := map[string]int{}
		for i := range got {
			got[i].DuringReconciliation = withinRun(got[i], runs)
			if got[i].DuringReconciliation {
				n[got[i].Enforcer]++
			}
		}
		return (n["caldicott"] >= m.per && n["bare"] >= m.per) || time.Since(began) > phaseMax
	})
	stopProfile()
	// The run the samples ended in is the phase's too (often its only
	// one): wait for it to finish.
	runs := jobRunsOf(t, m.tr.LogPath, job, from)
	if n := len(runs); n > 0 && runs[n-1].Open {
		stopped := time.Now()
		for end := stopped.Add(30 * time.Minute); time.Now().Before(end); time.Sleep(time.Second) {
			runs = jobRunsOf(t, m.tr.LogPath, job, from)
			if slices.ContainsFunc(runs, func(r jobRun) bool { return !r.Open && r.End.After(stopped) }) {
				break
			}
		}
	}
	for _, s := range samples {
		if withinRun(s, runs) {
			m.groups[s.Enforcer+"-"+phase] = append(m.groups[s.Enforcer+"-"+phase], s)
		}
	}
	m.step.Samples = append(m.step.Samples, samples...)
	m.step.Jobs[phase] = figuresOf(runs)
	if phase == "directory" {
		m.step.LDAP = ldapSyncsSince(t, m.tr.LogPath, from)
	}
	m.endPhase(phase, cpu)
	t.Logf("%d rooms, %s: %+v; load %.1f", m.step.Rooms, phase, m.step.Jobs[phase], load1())
}

// makeReviewsDue makes every clinical room's review due now: the worst
// review cycle, every room's review started at once.
func (m *stepMeasure) makeReviewsDue() time.Time {
	t := m.t
	policies, err := m.tr.Store.RoomPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-time.Minute)
	n := 0
	for _, p := range policies {
		if p.Class != "clinical" {
			continue
		}
		r, err := m.tr.Store.ReviewOf(ctx, p.RoomID)
		if err != nil {
			continue // a room with no schedule (the management room's kind)
		}
		r.NextDue, r.Started, r.Escalated = due, time.Time{}, false
		if err := m.tr.Store.SaveReview(ctx, r); err != nil {
			t.Fatal(err)
		}
		n++
	}
	t.Logf("%d rooms' reviews made due", n)
	return time.Now()
}

// endPhase records how busy the machine was during a phase.
func (m *stepMeasure) endPhase(phase string, cpu cpuSnapshot) {
	use := cpuSince(phase, cpu, runtime.NumCPU())
	m.step.Phases = append(m.step.Phases, phaseLoad{Phase: phase, Load1: load1(), ForeignPct: use.ForeignPct, WallSecs: use.WallSecs, RSSMaxMB: m.mem.maxOf(phase)})
}

// count is how many samples enforcer took.
func count(samples []latencySample, enforcer string) int {
	n := 0
	for _, s := range samples {
		if s.Enforcer == enforcer {
			n++
		}
	}
	return n
}

// figuresOf summarises a job's finished runs.
func figuresOf(runs []jobRun) jobFigures {
	var secs []float64
	for _, r := range runs {
		if !r.Open {
			secs = append(secs, r.Took().Seconds())
		}
	}
	f := jobFigures{Runs: len(secs)}
	if len(secs) > 0 {
		f.First = secs[0]
		f.Median = percentile(secs, 50)
		f.Max = slices.Max(secs)
	}
	return f
}

// jobRunsOf reads Caldicott's log for the runs of job that ended after
// since (and one still running).
func jobRunsOf(t *testing.T, logPath, job string, since time.Time) []jobRun {
	t.Helper()
	var runs []jobRun
	var started time.Time
	scanLog(t, logPath, `"`+job+`"`, func(line []byte) {
		var rec struct {
			Time    time.Time `json:"time"`
			Message string    `json:"message"`
			Job     string    `json:"job"`
			Took    float64   `json:"took"` // ms
		}
		if json.Unmarshal(line, &rec) != nil || rec.Job != job || rec.Time.Before(since) {
			return
		}
		switch rec.Message {
		case "Job started":
			started = rec.Time
		case "Job done":
			took := time.Duration(rec.Took * float64(time.Millisecond))
			runs = append(runs, jobRun{Start: rec.Time.Add(-took), End: rec.Time})
			started = time.Time{}
		}
	})
	if !started.IsZero() {
		runs = append(runs, jobRun{Start: started, End: time.Now(), Open: true})
	}
	return runs
}

// ldapSync is one directory sync from Caldicott's log.
type ldapSync struct {
	At      time.Time `json:"at"`
	Full    bool      `json:"full"`
	Entries int       `json:"entries"`
	Removed int       `json:"removed"`
}

func ldapSyncsSince(t *testing.T, logPath string, since time.Time) []ldapSync {
	t.Helper()
	var out []ldapSync
	scanLog(t, logPath, `"LDAP sync done"`, func(line []byte) {
		var rec struct {
			Time time.Time `json:"time"`
			ldapSync
		}
		if json.Unmarshal(line, &rec) == nil && !rec.Time.Before(since) {
			rec.ldapSync.At = rec.Time
			out = append(out, rec.ldapSync)
		}
	})
	return out
}

// scanLog calls fn with each line of the log that contains marker.
func scanLog(t *testing.T, logPath, marker string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), marker) {
			fn(sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", logPath, err)
	}
}
