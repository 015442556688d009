package appservice_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

var faultSeed = flag.Uint64("fault.seed", 0, "TestFaultKillAtRandomPoint: the seed of its random kill points (0: from the clock; the test prints the one it used)")

// faultSteps are the points a revocation (kick, notice) and a drift's
// repair (set_state, notice) pass through, at any of which the process is
// killed.
var faultSteps = []string{
	"planned:kick", "performed:0:kick", "completed:0:kick", "performed:1:notify_room", "completed:1:notify_room",
	"planned:set_state", "performed:0:set_state", "completed:0:set_state",
}

// TestFaultKillAtRandomPoint kills the single process (SIGKILL) at a
// random step while it handles (a) a transaction of several events — two
// outsiders invited and the join rule opened at once — and (b) the
// start-up reconciliation of the same made while it was down; restarted,
// each outsider is removed and the room told once, the drift repaired
// once, the audit chain intact. The seed is printed: -fault.seed repeats
// a failure's kill points.
func TestFaultKillAtRandomPoint(t *testing.T) {
	seed := *faultSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (go test -run TestFaultKillAtRandomPoint -fault.seed=%d repeats these kill points)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	bin := failpointBinary(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	rooms := []id.RoomID{tr.ClinicalRoom(t, alice), tr.ClinicalRoom(t, alice)}
	tr.Stop(t)

	for i, mode := range []string{"transaction", "reconciliation"} {
		step := faultSteps[rng.IntN(len(faultSteps))]
		t.Run(mode+"/"+step, func(t *testing.T) {
			room := rooms[i]
			outsiders := []id.UserID{tr.HS.RegisterUser(t, mode+"a", false).UserID, tr.HS.RegisterUser(t, mode+"b", false).UserID}
			drift := func() {
				for _, o := range outsiders {
					invite(t, alice, room, o)
				}
				if _, err := alice.SendStateEvent(ctx, room, event.StateJoinRules, "", map[string]any{"join_rule": "public"}); err != nil {
					t.Fatal(err)
				}
			}
			if mode == "reconciliation" {
				drift() // while no caldicott runs
			}
			p := trust.StartPeer(t, bin, tr, "crashing", tr.Config.AppService.Port, "CALDICOTT_FAILPOINT="+step)
			exited := make(chan error, 1)
			go func() { exited <- p.Cmd.Wait() }()
			if mode == "transaction" {
				p.WaitRole(t, "leader", 30*time.Second)
				drift()
			}
			select {
			case err := <-exited:
				if ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
					t.Fatalf("caldicott ended with %v, want killed at %s\n%s", err, step, trust.Tail(p.Log, 3000))
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("caldicott never reached %s\n%s", step, trust.Tail(p.Log, 3000))
			}
			tr.Start(t)
			defer tr.Stop(t)
			checkRecovered(t, tr, alice, room, outsiders, step)
		})
	}
}

// checkRecovered: each outsider removed and named in one notice, the join
// rule set back once, the audit chain intact.
func checkRecovered(t *testing.T, tr *trust.Trust, alice *mautrix.Client, room id.RoomID, outsiders []id.UserID, step string) {
	t.Helper()
	testenv.WaitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	for _, o := range outsiders {
		testenv.WaitMembership(t, alice, room, o, "leave")
		testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+o.String())
	}
	testenv.Quiet(t, 2*time.Second, "nothing doubled after a kill at "+step, func() (bool, string) {
		resp, err := alice.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 200)
		if err != nil {
			return false, err.Error()
		}
		notices, removals, repairs := map[id.UserID]int{}, map[id.UserID]int{}, 0
		for _, evt := range resp.Chunk {
			_ = evt.Content.ParseRaw(evt.Type)
			switch {
			case evt.Type == event.StateJoinRules && evt.Sender == tr.BotID():
				repairs++
			case evt.Type == event.StateMember && evt.Content.AsMember().Membership == event.MembershipLeave:
				removals[id.UserID(evt.GetStateKey())]++
			case evt.Type == event.EventMessage && evt.Sender == tr.BotID():
				for _, o := range outsiders {
					if strings.Contains(evt.Content.AsMessage().Body, o.String()) {
						notices[o]++
					}
				}
			}
		}
		for _, o := range outsiders {
			if notices[o] != 1 || removals[o] != 1 {
				return false, fmt.Sprintf("%s: %d notices, %d removals", o, notices[o], removals[o])
			}
		}
		return repairs == 1, fmt.Sprintf("%d repairs of the join rule", repairs)
	})
	if rep, err := tr.Store.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after a kill at %s: %+v, %v", step, rep, err)
	}
}
