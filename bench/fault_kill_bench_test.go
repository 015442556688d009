package bench_test

import (
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

var (
	flagKillTrials = flag.Int("bench.kill-trials", 50, "kill -9: trials per kind of work (transaction, reconciliation, sweep, record)")
	flagKillKinds  = flag.String("bench.kill-kinds", "", "kill -9: the kinds of work to kill, comma-separated (empty: all four)")
	flagKillDB     = flag.String("bench.kill-db", "sqlite", "kill -9: Caldicott's database, sqlite or postgres (a throwaway PostgreSQL 15 cluster)")
	flagKillSeed   = flag.Uint64("bench.kill-seed", 0, "kill -9: the seed of the random half of the kill points (0: from the clock; the run prints it)")
)

var killBench = &scenario[killResults]{
	why:  "a caldicott killed and restarted on one real Dendrite and FHIR server, about 10 s per trial",
	test: "TestFaultKillScenario", timeout: "180m",
}

// killResults are the figures the scenario writes, trial by trial, so a
// run cut short still leaves what it measured.
type killResults struct {
	Seed   uint64        `json:"seed"`
	Trials []killTrial   `json:"trials"`
	Took   time.Duration `json:"took"`
}

// killTrial is one kill -9 and what the restart found.
type killTrial struct {
	Kind        string  `json:"kind"`
	Step        string  `json:"step"`
	Random      bool    `json:"random"`
	Killed      bool    `json:"killed"`
	RecoveryMS  float64 `json:"recovery_ms"`
	Lost        int     `json:"lost"`
	Doubled     int     `json:"doubled"`
	Wrong       int     `json:"wrong"`
	AuditBroken bool    `json:"audit_broken"`
	Alerts      int     `json:"alerts"`
	AllClears   int     `json:"all_clears"`
	Detail      string  `json:"detail,omitempty"`
}

// BenchmarkFaultKill: one caldicott (the failpoint build) on one real
// Dendrite and a real FHIR server, killed (SIGKILL, by itself at a
// failpoint) -bench.kill-trials times during each of four kinds of work —
// a transaction, the start-up reconciliation, a retention sweep, a patient
// record's delivery — then restarted. Kinds take turns; within a kind the
// trials alternate between the next failpoint in order (so every one is
// covered) and a random one (seeded, -bench.kill-seed). Figures per kind:
// trials, failpoints not reached, lost, doubled, unexpired messages
// deleted, the audit chain, and restart → the state right (median, max).
// Target (issue 22 point 3): nothing lost, nothing doubled.
func BenchmarkFaultKill(b *testing.B) {
	out := killBench.run(b)
	for _, kind := range trust.KillKinds {
		var rec []float64
		var n, unreached, lost, doubled, wrong, broken, untold int
		for _, tr := range out.Trials {
			if tr.Kind != kind {
				continue
			}
			n++
			if !tr.Killed {
				unreached++
			}
			lost, doubled, wrong = lost+tr.Lost, doubled+tr.Doubled, wrong+tr.Wrong
			if tr.AuditBroken {
				broken++
			}
			if tr.Alerts != 1 || tr.AllClears != 1 {
				untold++
			}
			if tr.Lost == 0 && tr.Doubled == 0 {
				rec = append(rec, tr.RecoveryMS)
			}
		}
		b.ReportMetric(float64(n), kind+"-trials")
		b.ReportMetric(float64(unreached), kind+"-unreached")
		b.ReportMetric(float64(lost), kind+"-lost")
		b.ReportMetric(float64(doubled), kind+"-doubled")
		b.ReportMetric(float64(wrong), kind+"-unexpired-deleted")
		b.ReportMetric(float64(broken), kind+"-audit-broken")
		b.ReportMetric(float64(untold), kind+"-takeover-not-told-once")
		b.ReportMetric(percentile(rec, 50), kind+"-recovery-p50-ms")
		b.ReportMetric(percentile(rec, 100), kind+"-recovery-max-ms")
	}
	b.Logf("%d trials in %s, seed %d", len(out.Trials), out.Took.Round(time.Second), out.Seed)
}

// TestFaultKillScenario is the benchmark's body, run in a child process
// (scenarioOnly).
func TestFaultKillScenario(t *testing.T) {
	scenarioOnly(t, "BenchmarkFaultKill")
	seed := *flagKillSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-bench.kill-seed=%d repeats the random kill points)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	began := time.Now()
	bin := trust.Binary(t)
	_, fhir := testenv.StartFHIR(t)
	opts := trust.Options{Host: "127.0.0.11", ConfigYAML: trust.KillConfigYAML(fhir)}
	switch *flagKillDB {
	case "sqlite":
	case "postgres":
		opts.Database = testenv.Postgres(t)
	default:
		t.Fatalf("-bench.kill-db=%q: want sqlite or postgres", *flagKillDB)
	}
	t.Logf("Caldicott on %s", *flagKillDB)
	// Without the bot's encryption device, so notices can be read and counted.
	tr := trust.New(t, benchOptions(opts))
	rig := trust.NewKillRig(t, tr, fhir, bin)
	res := killResults{Seed: seed}
	for i := range *flagKillTrials {
		for _, kind := range trust.KillKinds {
			if *flagKillKinds != "" && !slices.Contains(strings.Split(*flagKillKinds, ","), kind) {
				continue
			}
			steps := trust.KillSteps[kind]
			step, random := steps[(i/2)%len(steps)], i%2 == 1
			if random {
				step = steps[rng.IntN(len(steps))]
			}
			o := rig.Trial(t, kind, step)
			res.Trials = append(res.Trials, killTrial{
				Kind: kind, Step: step, Random: random, Killed: o.Killed, RecoveryMS: float64(o.Recovery.Milliseconds()),
				Lost: o.Lost, Doubled: o.Doubled, Wrong: o.Wrong, AuditBroken: o.AuditBroken, Alerts: o.Alerts, AllClears: o.AllClears, Detail: o.Detail,
			})
			t.Logf("trial %d %s at %s: killed %v, recovered in %s, lost %d, doubled %d, unexpired deleted %d, audit broken %v %s",
				len(res.Trials), kind, step, o.Killed, o.Recovery.Round(time.Millisecond), o.Lost, o.Doubled, o.Wrong, o.AuditBroken, o.Detail)
			res.Took = time.Since(began)
			writeResults(t, res)
		}
	}
}
