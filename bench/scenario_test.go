package bench_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// The scenarios' sizes and switches. A benchmark passes the ones given on
// to the child process that runs its scenario.
var (
	flagRooms        = flag.Int("bench.rooms", 1000, "clinical rooms in the parallel enforcement and federation scenarios")
	flagSamples      = flag.Int("bench.samples", 0, "latency samples per condition (0: each scenario's own default — 30, or 20 for the identity reset)")
	flagLeavers      = flag.Int("bench.leavers", 20, "federation: trust B's staff recorded as leavers one at a time")
	flagLeaversAfter = flag.Int("bench.leavers-after", 5, "federation: leavers recorded after the member trusts change")
	flagSweepN       = flag.Int("bench.sweep-n", 3000, "retention sweep: events in each of the two rooms of the rate comparison")
	flagSweepBig     = flag.Int("bench.sweep-big", 100000, "retention sweep: events in the big room")
	flagSweepSenders = flag.Int("bench.sweep-senders", 4, "retention sweep: clients writing at once")
	flagSweepWait    = flag.Duration("bench.sweep-wait", 90*time.Minute, "retention sweep: the longest wait for the big room to be swept")
	flagQuietMax     = flag.Duration("bench.quiet-max", 0, "the longest wait for a quiet machine before samples (0: the scenario's own); a shorter wait leaves figures not clean, and the report says so")
	flagKeepDir      = flag.String("bench.keep", "", "a directory to keep Caldicott's and Dendrite's logs, profiles and the figures in")
	flagEncryption   = flag.Bool("bench.encryption", false, "parallel enforcement: the bot's encryption device on, as deployed")
	flagVerification = flag.String("bench.verification", "", "parallel enforcement: verification.mode (e.g. off: no device-list /sync by the bot)")
	flagDendriteDB   = flag.String("bench.dendrite-db", "sqlite", "the homeservers' database: sqlite, or postgres as a trust with a thousand clinical rooms runs Dendrite")
	// resultsPath is set by a benchmark for the child process that runs its
	// scenario; a scenario test runs only when it is set.
	flagResultsPath = flag.String("bench.results", "", "where a scenario writes its figures (JSON); set by its benchmark, or by hand to run the scenario alone as a test")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if err := checkFlags(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func checkFlags() error {
	for name, v := range map[string]int{"rooms": *flagRooms, "leavers": *flagLeavers, "leavers-after": *flagLeaversAfter, "sweep-n": *flagSweepN, "sweep-big": *flagSweepBig, "sweep-senders": *flagSweepSenders} {
		if v < 1 {
			return fmt.Errorf("-bench.%s=%d: want a positive number", name, v)
		}
	}
	if *flagSamples < 0 {
		return fmt.Errorf("-bench.samples=%d: want a positive number, or 0 for the default", *flagSamples)
	}
	if *flagDendriteDB != "sqlite" && *flagDendriteDB != "postgres" {
		return fmt.Errorf("-bench.dendrite-db=%q: say sqlite or postgres", *flagDendriteDB)
	}
	return nil
}

var ctx = context.Background()

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// samplesOr is -bench.samples, or the scenario's default when not given.
func samplesOr(def int) int {
	if *flagSamples > 0 {
		return *flagSamples
	}
	return def
}

// dendritePostgres: -bench.dendrite-db=postgres.
func dendritePostgres() bool { return *flagDendriteDB == "postgres" }

// benchOptions sets a scenario's trust up as a trust's would be: Dendrite
// on disk, and on PostgreSQL when asked.
func benchOptions(opts trust.Options) trust.Options {
	opts.OnDisk = true
	opts.DendritePostgres = dendritePostgres()
	return opts
}

// dendriteDatabaseName says which database the scenario's homeservers use.
func dendriteDatabaseName() string {
	if dendritePostgres() {
		return "PostgreSQL 15"
	}
	return "SQLite"
}

// scenario is a long benchmark's body: a test run once per process in a
// child process (the scenarios keep state and profiles per process, and
// take their own timeout), however often the benchmark function is called.
type scenario[T any] struct {
	why, test, timeout string
	once               sync.Once
	out                T
	err                error
}

// run skips the benchmark under -short, and returns the figures.
func (s *scenario[T]) run(b *testing.B) T {
	b.Helper()
	if testing.Short() {
		b.Skipf("a long scenario (%s); run it without -short", s.why)
	}
	s.once.Do(func() { s.out, s.err = runScenario[T](b, s.test, s.timeout) })
	if s.err != nil {
		b.Fatal(s.err)
	}
	return s.out
}

// runScenario runs a long benchmark's body (the test named) in a child
// process of this test binary, with this run's -bench.* flags, which
// writes its figures as JSON to -bench.results; and reads them back.
func runScenario[T any](b *testing.B, test, timeout string) (T, error) {
	var res T
	out := filepath.Join(b.TempDir(), "results.json")
	args := []string{"-test.run=^" + test + "$", "-test.v", "-test.timeout=" + timeout}
	flag.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "bench.") && f.Name != "bench.results" {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	cmd := exec.Command(os.Args[0], append(args, "-bench.results="+out)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("scenario: %w", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return res, fmt.Errorf("the scenario wrote no figures (skipped?): %w", err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return res, fmt.Errorf("read figures: %w", err)
	}
	return res, nil
}

// scenarioOnly skips a scenario test unless it runs for its benchmark
// (or by hand, with -bench.results): plain go test never runs it.
func scenarioOnly(t *testing.T, benchmark string) {
	t.Helper()
	if *flagResultsPath == "" {
		t.Skipf("the body of %s; run that benchmark (go test -bench %s ./bench), or this test with -bench.results=<file>", benchmark, benchmark)
	}
}

// reportLatencies reports each condition's p50, p90 and max, and returns
// the summaries by condition for the ratios.
func reportLatencies(b *testing.B, summaries []latencySummary) map[string]latencySummary {
	by := map[string]latencySummary{}
	for _, s := range summaries {
		by[s.Condition] = s
		b.ReportMetric(s.P50, s.Condition+"-p50-ms")
		b.ReportMetric(s.P90, s.Condition+"-p90-ms")
		b.ReportMetric(s.Max, s.Condition+"-max-ms")
	}
	return by
}
