package appservice_test

import (
	"flag"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

var (
	faultSeed = flag.Uint64("fault.seed", 0, "TestFaultKillAtRandomPoint: the seed of its random kill points (0: from the clock; the test prints the one it used)")
	faultAt   = flag.String("fault.at", "", "TestFaultKillAtRandomPoint: a failpoint (trust.KillSteps) to kill at instead of a random one, for the kind of work it belongs to")
)

// TestFaultKillAtRandomPoint kills the single process (SIGKILL) at a
// random step of each of four kinds of work: (a) a transaction of several
// events — two outsiders invited and the join rule opened at once — (b)
// the start-up reconciliation of the same made while it was down, (c) a
// retention sweep of expired messages and (d) a message's delivery to the
// patient record (a real FHIR server). Restarted, each outsider is
// removed and the room told once, the drift repaired once, each expired
// message deleted once and nothing unexpired, the record in the FHIR
// server once and the room told once, the audit chain intact, and the
// management room told of the takeover once and of its catch-up once (the
// alert and its all-clear: a kill is otherwise silent). The seed is
// printed: -fault.seed repeats a failure's kill points. bench's
// BenchmarkFaultKill runs every step many times.
func TestFaultKillAtRandomPoint(t *testing.T) {
	seed := *faultSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (go test -run TestFaultKillAtRandomPoint -fault.seed=%d repeats these kill points)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	bin := failpointBinary(t)
	_, fhir := testenv.StartFHIR(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: trust.KillConfigYAML(fhir)})
	rig := trust.NewKillRig(t, tr, fhir, bin)

	for _, kind := range trust.KillKinds {
		steps := trust.KillSteps[kind]
		step := steps[rng.IntN(len(steps))]
		if slices.Contains(steps, *faultAt) {
			step = *faultAt
		}
		t.Run(kind+"/"+step, func(t *testing.T) {
			out := rig.Trial(t, kind, step)
			if !out.Killed {
				t.Fatalf("caldicott never reached %s", step)
			}
			if !out.OK() {
				t.Fatalf("after a kill at %s: %d lost, %d doubled, %d unexpired deleted, audit chain broken: %v, takeover told %d and its catch-up %d times (want once each) (%s)",
					step, out.Lost, out.Doubled, out.Wrong, out.AuditBroken, out.Alerts, out.AllClears, out.Detail)
			}
			t.Logf("recovered in %s; the management room told of the takeover %d time(s), of its catch-up %d", out.Recovery.Round(time.Millisecond), out.Alerts, out.AllClears)
		})
	}
}
