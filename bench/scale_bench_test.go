package bench_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// The scale benchmark (issue 22, points 4 and 5) grows one trust through
// the room counts of -bench.scale-sizes, measuring at each, with a staff
// directory of -bench.scale-staff people in LDAP:
//
//	go test -tags goolm -run '^$' -bench BenchmarkScale -benchtime 1x \
//	    -timeout 6h -bench.scale-sizes=100,1000,10000 \
//	    -bench.scale-svg=../docs/cost-curve.svg -bench.keep=/tmp/scale ./bench/
//
// Rooms are made through the client API as a trust's admin would (the
// bot's !policy new-room), so the 10,000 step takes hours on a shared
// two-core machine (about 1.6 rooms a second on a quiet one).
var (
	flagScaleSizes    = flag.String("bench.scale-sizes", "100,1000,10000", "scale: the clinical room counts measured, ascending (one trust grows through them)")
	flagScaleStaff    = flag.Int("bench.scale-staff", 100000, "scale: people in the LDAP staff directory")
	flagScaleSVG      = flag.String("bench.scale-svg", "", "scale: where the benchmark writes the cost curve (SVG), e.g. ../docs/cost-curve.svg")
	flagScaleJobsUpTo = flag.Int("bench.scale-jobs-upto", 0, "scale: room counts above this measure start-up (its catch-up is a full reconciliation) and idle only, not the job phases, each of which restarts and catches up again (hours at 10,000 rooms); 0 measures every phase at every count")
	flagScaleFrom     = flag.String("bench.scale-from", "", "scale: redraw the table and cost curve from a run's scale-results.json (kept by -bench.keep) instead of running")
)

// scaleResults is what one run of the scale scenario measured.
type scaleResults struct {
	Staff int `json:"staff"`
	// HarnessRSSMB is the test process's resident memory before Caldicott
	// first started: the harness's share of the RSS figures.
	HarnessRSSMB float64     `json:"harness_rss_mb"`
	Steps        []scaleStep `json:"steps"`
}

// scaleStep is the figures at one room count.
type scaleStep struct {
	Rooms        int     `json:"rooms"`
	CreationSecs float64 `json:"creation_s"` // for this step's new rooms
	NewRooms     int     `json:"new_rooms"`
	// EnforcingSecs: start-up to ready (enforcing); CaughtUpSecs: to the
	// end of the start-up catch-up (directory sync and reconciliation).
	EnforcingSecs float64 `json:"enforcing_s"`
	CaughtUpSecs  float64 `json:"caught_up_s"`
	StartupRooms  int64   `json:"startup_rooms"`
	// RSSMB is the most resident memory sampled during the step's
	// measurements (Caldicott and the harness in one process); IdleRSSMB
	// and IdleHeapMB are with the trust idle.
	RSSMB      float64 `json:"rss_max_mb"`
	IdleRSSMB  float64 `json:"idle_rss_mb"`
	IdleHeapMB float64 `json:"idle_live_heap_mb"`
	// Jobs: each long job's runs during its phase.
	Jobs    map[string]jobFigures `json:"jobs"`
	Latency []latencySummary      `json:"latency"`
	Phases  []phaseLoad           `json:"phases"`
	// LDAP: the directory syncs logged during the directory phase.
	LDAP    []ldapSync      `json:"ldap_syncs"`
	Samples []latencySample `json:"samples"`
}

// jobFigures summarises one job's runs.
type jobFigures struct {
	Runs int `json:"runs"`
	// First is the first run's: the one that met the phase's work (every
	// review due, the leavers) rather than a repeat.
	First  float64 `json:"first_s"`
	Median float64 `json:"median_s"`
	Max    float64 `json:"max_s"`
}

// phaseLoad is how busy the machine was during one phase: the figures
// beside it mean little without it on a shared machine.
type phaseLoad struct {
	Phase      string  `json:"phase"`
	Load1      float64 `json:"load1"`
	ForeignPct float64 `json:"foreign_pct"`
	WallSecs   float64 `json:"wall_s"`
	RSSMaxMB   float64 `json:"rss_max_mb"`
}

var scaleBench = &scenario[scaleResults]{
	why:  "it creates up to 10,000 clinical rooms on a real Dendrite: hours",
	test: "TestScaleScenario", timeout: "6h",
}

// BenchmarkScale: resident memory, start-up to ready (target < 10 s),
// a full reconciliation, a review cycle, a directory sync of the staff
// with 1% leavers, and join→removal latency while each runs beside a bare
// appservice's, at each room count; writes the cost curve (SVG) when
// -bench.scale-svg names a file.
func BenchmarkScale(b *testing.B) {
	var res scaleResults
	if from := *flagScaleFrom; from != "" {
		data, err := os.ReadFile(from)
		if err == nil {
			err = json.Unmarshal(data, &res)
		}
		if err != nil {
			b.Fatalf("-bench.scale-from: %v", err)
		}
	} else {
		res = scaleBench.run(b)
	}
	for _, s := range res.Steps {
		prefix := fmt.Sprintf("rooms%d-", s.Rooms)
		b.ReportMetric(s.RSSMB, prefix+"rss-max-MB")
		b.ReportMetric(s.EnforcingSecs, prefix+"ready-s")
		b.ReportMetric(s.CaughtUpSecs, prefix+"caught-up-s")
		for name, j := range s.Jobs {
			b.ReportMetric(j.First, prefix+name+"-first-s")
			b.ReportMetric(j.Median, prefix+name+"-median-s")
		}
	}
	if path := *flagScaleSVG; path != "" {
		if err := os.WriteFile(path, []byte(costCurveSVG(res)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.Log("\n" + scaleTable(res))
}

// TestScaleScenario is BenchmarkScale's body, run in a child process.
func TestScaleScenario(t *testing.T) {
	scenarioOnly(t, "BenchmarkScale")
	sizes, err := parseSizes(*flagScaleSizes)
	if err != nil {
		t.Fatal(err)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano // job runs are told apart by time
	res := scaleResults{Staff: *flagScaleStaff, HarnessRSSMB: rssMB()}
	dir := startStaffDirectory(t, *flagScaleStaff)
	// PostgreSQL, as a trust of this size runs Caldicott: on SQLite the
	// start-up sync of 100,000 staff is one long write that can hold up the
	// leader's lease past its lapse (seen under load; see docs/benchmarks.md).
	tr := trust.New(t, benchOptions(trust.Options{Host: "127.0.0.11", Database: testenv.Postgres(t), ConfigYAML: dir.yaml(scaleJobs{})}))
	if keep := *flagKeepDir; keep != "" {
		t.Cleanup(func() { trust.KeepLog(t, tr.LogPath, filepath.Join(keep, "caldicott.log")) })
	}
	bare := startBareAppservice(t, tr)
	// The first start reads the whole directory into an empty one: minutes.
	tr.Launch(t)
	tr.WaitReady(t, 30*time.Minute)
	alice := tr.HS.RegisterUser(t, "alice", false)
	olive := tr.HS.RegisterUser(t, "olive", false)
	perCondition := samplesOr(10)
	mem := watchRSS()
	defer mem.stop()
	var wards, sampleRooms []id.RoomID
	var sm *sampler
	for _, size := range sizes {
		began, before := time.Now(), len(wards)
		wards = append(wards, createWards(t, tr, alice, size-before, 4)...)
		step := scaleStep{Rooms: size, NewRooms: size - before, CreationSecs: time.Since(began).Seconds()}
		t.Logf("%d clinical rooms after %s of creation (load %.1f)", len(wards), time.Since(began).Round(time.Second), load1())
		if sm == nil {
			sampleRooms = spreadRooms(wards, 10)
			joinObserver(t, alice, olive, sampleRooms)
			bareRoom := bare.room(t, alice, olive)
			watch := watchMembers(t, olive, append(append([]id.RoomID(nil), sampleRooms...), bareRoom))
			sm = &sampler{w: watch, alice: alice, bot: tr.BotID(), barebot: bare.bot, rooms: sampleRooms, bareRoom: bareRoom, round: 2}
		}
		// Enough for the start-up and idle samples and three job phases
		// sampled for up to phaseMax each.
		sm.visitors = append(sm.visitors, registerVisitors(t, tr.HS, "s"+itoa(size), 8*perCondition+360)...)
		m := &stepMeasure{t: t, tr: tr, dir: dir, sm: sm, mem: mem, per: perCondition, step: &step, last: size == sizes[len(sizes)-1],
			noJobs: *flagScaleJobsUpTo > 0 && size > *flagScaleJobsUpTo}
		m.run()
		res.Steps = append(res.Steps, step)
		// After each step, so a run cut short keeps the steps it finished.
		writeScaleResults(t, res)
		t.Log("\n" + scaleTable(res))
	}
	close(bare.errs)
	for err := range bare.errs {
		t.Errorf("bare appservice: %v", err)
	}
}

// parseSizes reads "100,1000,10000": ascending positive room counts.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("-bench.scale-sizes=%q: want ascending positive room counts, e.g. 100,1000,10000", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// spreadRooms picks n rooms spread evenly over rooms.
func spreadRooms(rooms []id.RoomID, n int) []id.RoomID {
	n = min(n, len(rooms))
	out := make([]id.RoomID, n)
	for i := range out {
		out[i] = rooms[i*len(rooms)/n]
	}
	return out
}

// joinObserver has Alice invite Olive, who only watches, into rooms.
func joinObserver(t *testing.T, alice, olive *mautrix.Client, rooms []id.RoomID) {
	t.Helper()
	for _, room := range rooms {
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: olive.UserID}); err != nil {
			t.Fatal(err)
		}
		if _, err := olive.JoinRoomByID(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
}

// writeScaleResults writes the figures for the benchmark (and -bench.keep).
func writeScaleResults(t *testing.T, res scaleResults) {
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
	if keep := *flagKeepDir; keep != "" {
		_ = os.WriteFile(filepath.Join(keep, "scale-results.json"), data, 0o644)
	}
}
