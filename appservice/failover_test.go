package appservice_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestFailoverTwoProcesses runs two caldicott processes with one config on
// one PostgreSQL behind a round-robin proxy at the appservice URL, as a
// trust would behind its load balancer: both store transactions, one
// leads. Killing the leader (SIGKILL) hands the lease to the other, which
// removes an outsider invited right after the kill within 10 s of it;
// freezing the new leader (SIGSTOP) past its lease hands it back, and the
// frozen one, resumed (SIGCONT), stops acting: no notice twice, the audit
// chain intact.
func TestFailoverTwoProcesses(t *testing.T) {
	bin := failpointBinary(t) // no failpoint named: an ordinary caldicott
	// Without the bot's encryption device, so the notices can be read and
	// counted (test clients cannot decrypt).
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Database: testenv.Postgres(t)})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice)
	tr.Stop(t)

	aPort, bPort := testenv.FreePort(t, "127.0.0.1"), testenv.FreePort(t, "127.0.0.1")
	proxy := trust.RoundRobin(t, tr.Config.AppService.Port, aPort, bPort)
	a := trust.StartPeer(t, bin, tr, "a", aPort)
	a.WaitRole(t, "leader", 60*time.Second)
	b := trust.StartPeer(t, bin, tr, "b", bPort)
	b.WaitRole(t, "standby", 30*time.Second)

	// Both accept transactions; the leader acts on those the standby stored.
	outsider := func(n string) *mautrix.Client { return tr.HS.RegisterUser(t, "outsider"+n, false) }
	o0 := outsider("0")
	invite(t, alice, room, o0.UserID)
	testenv.WaitMembership(t, alice, room, o0.UserID, "leave")
	for i := 0; i < 4; i++ {
		testenv.Say(t, alice, room, fmt.Sprintf("ward round %d", i))
	}
	testenv.Eventually(t, 20*time.Second, "both processes store transactions", func() (bool, string) {
		ta, tb := a.Transactions(), b.Transactions()
		return ta > 0 && tb > 0, fmt.Sprintf("a %v, b %v (proxy sent %d)", ta, tb, proxy.Load())
	})

	// kill -9 the leader: b takes over and removes an outsider within 10 s.
	o1 := outsider("1")
	killed := time.Now()
	a.Signal(t, syscall.SIGKILL)
	invite(t, alice, room, o1.UserID)
	leads := b.WaitRole(t, "leader", 15*time.Second)
	testenv.WaitMembership(t, alice, room, o1.UserID, "leave")
	removed := time.Since(killed)
	t.Logf("kill -9 → standby leads %s, outsider removed %s", leads.Sub(killed).Round(10*time.Millisecond), removed.Round(10*time.Millisecond))
	if removed > 10*time.Second {
		t.Errorf("the outsider was removed %s after the leader was killed; want within 10s", removed)
	}

	// a again, on standby; then b frozen past its lease: a takes over.
	a = trust.StartPeer(t, bin, tr, "a", aPort)
	a.WaitRole(t, "standby", 30*time.Second)
	// Frozen just after an invitation reached it, so it is likely frozen
	// in the middle of removing the outsider; whichever step it was at,
	// the outsider is removed and the room told once.
	o2 := outsider("2")
	invite(t, alice, room, o2.UserID)
	time.Sleep(100 * time.Millisecond)
	frozen := time.Now()
	b.Signal(t, syscall.SIGSTOP)
	t.Logf("b frozen with the outsider's membership %s", testenv.MembershipOf(t, alice, room, o2.UserID))
	took := a.WaitRole(t, "leader", 15*time.Second)
	testenv.WaitMembership(t, alice, room, o2.UserID, "leave")
	t.Logf("SIGSTOP → the other leads %s", took.Sub(frozen).Round(10*time.Millisecond))
	b.Signal(t, syscall.SIGCONT)
	b.WaitRole(t, "standby", 10*time.Second)
	o3 := outsider("3")
	invite(t, alice, room, o3.UserID)
	testenv.WaitMembership(t, alice, room, o3.UserID, "leave")

	// Nothing doubled: one removal notice per outsider, the chain intact.
	for _, o := range []*mautrix.Client{o0, o1, o2, o3} {
		testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+o.UserID.String())
	}
	testenv.Quiet(t, 3*time.Second, "one notice per outsider", func() (bool, string) {
		notices := testenv.BotNotices(t, alice, room, tr.BotID())
		for _, o := range []*mautrix.Client{o0, o1, o2, o3} {
			n := 0
			for _, text := range notices {
				if strings.Contains(text, o.UserID.String()) {
					n++
				}
			}
			if n != 1 {
				return false, fmt.Sprintf("%s: %d notices", o.UserID, n)
			}
		}
		return true, ""
	})
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rep, err := st.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after the failovers: %+v, %v", rep, err)
	}
	if !strings.Contains(trust.Tail(b.Log, 1<<20), "No longer leading") {
		t.Errorf("the resumed process did not say it stopped leading:\n%s", trust.Tail(b.Log, 3000))
	}
}
