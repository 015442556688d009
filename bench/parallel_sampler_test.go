package bench_test

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// sampler takes samples in rounds: Alice invites a visitor into one of
// the clinical rooms in turn (Caldicott must revoke it), then another into
// the bare appservice's room.
type sampler struct {
	w              *memberWatch
	alice          *mautrix.Client
	bot, barebot   id.UserID
	rooms          []id.RoomID
	bareRoom       id.RoomID
	visitors       []id.UserID // not yet invited
	round, sampled int
}

// foreignLimit: a sample during which processes outside this test used
// more than this per cent of the machine (half a core of two) is left out.
// Lower, a single clock tick of a kernel thread would spoil a short sample.
const foreignLimit = 25

// until takes rounds of samples until enough says so or the visitors run out.
func (p *sampler) until(t *testing.T, phase string, enough func([]latencySample) bool) []latencySample {
	t.Helper()
	cores := runtime.NumCPU()
	var out []latencySample
	for len(p.visitors) > 0 {
		n := min(p.round, len(p.visitors))
		for _, v := range p.visitors[:n] {
			enforcer, where, name := p.bot, p.rooms[(p.sampled/2)%len(p.rooms)], "caldicott"
			if p.sampled%2 == 1 {
				enforcer, where, name = p.barebot, p.bareRoom, "bare"
			}
			p.sampled++
			cpu := takeCPUSnapshot()
			s, err := p.w.revokeLatency(p.alice, where, v, enforcer)
			if err != nil {
				t.Fatal(err)
			}
			s.Enforcer, s.Phase, s.Room = name, phase, where
			use := cpuSince("", cpu, cores)
			s.ForeignPct, s.DendriteCPUMS = use.ForeignPct, 1000*use.DendSecs
			out = append(out, s)
			// Spaced, and not in step with anything periodic.
			time.Sleep(time.Duration(150+rand.IntN(200)) * time.Millisecond)
		}
		p.visitors = p.visitors[n:]
		if enough(out) {
			return out
		}
	}
	t.Logf("%s: ran out of visitors before enough clean samples", phase)
	return out
}

func countClean(samples []latencySample, enforcer string) int {
	n := 0
	for _, s := range samples {
		if s.Enforcer == enforcer && s.ForeignPct <= foreignLimit {
			n++
		}
	}
	return n
}
