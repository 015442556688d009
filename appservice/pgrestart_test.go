package appservice_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestPostgresRestarted restarts the PostgreSQL server under a running
// Caldicott (the real binary, a single process) while work is pending: an
// outsider invited and the join rule opened while the database is down,
// so the homeserver's transactions fail and are sent again. Once with a
// fast shutdown, started again at once (within the leader's lease, the
// process keeps it, unless the machine is so busy the restart takes
// longer); once with an immediate stop (every PostgreSQL process killed,
// crash recovery at start), down for longer (the process stops acting, and
// leads again at the next epoch). Each time: Caldicott does not exit, the
// operator sees the database down (caldicott_database_up 0) and back, the
// outsider is removed and named in one notice, the join rule set back
// once, each transaction's event stored once, and the audit chain intact.
func TestPostgresRestarted(t *testing.T) {
	bin := failpointBinary(t) // no failpoint named: an ordinary caldicott
	pg := testenv.NewPostgresCluster(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Database: pg.Database(t, "caldicott")})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	rooms := []id.RoomID{tr.ClinicalRoom(t, alice), tr.ClinicalRoom(t, alice)}
	tr.Stop(t)

	p := trust.StartPeer(t, bin, tr, "single", tr.Config.AppService.Port)
	exited := make(chan error, 1)
	go func() { exited <- p.Cmd.Wait() }()
	p.WaitRole(t, "leader", 60*time.Second)
	// Started again at once after a fast shutdown, and after an immediate
	// stop left down for longer than a lease and a renewal (5 s + 1.7 s).
	trials := []struct {
		mode string
		down time.Duration
	}{
		{"fast", 0},
		{"immediate", 9 * time.Second},
	}
	for i, trial := range trials {
		t.Run(trial.mode, func(t *testing.T) {
			room := rooms[i]
			epoch := gauge(t, p, "caldicott_leader_epoch")
			outsider := tr.HS.RegisterUser(t, "outsider"+trial.mode, false).UserID
			stopped := time.Now()
			pg.Stop(t, trial.mode)
			invite(t, alice, room, outsider)
			if _, err := alice.SendStateEvent(ctx, room, event.StateJoinRules, "", map[string]any{"join_rule": "public"}); err != nil {
				t.Fatal(err)
			}
			if trial.down > 0 {
				testenv.Eventually(t, trial.down, "caldicott_database_up 0 while PostgreSQL is down", func() (bool, string) {
					v := gauge(t, p, "caldicott_database_up")
					return v == 0, fmt.Sprint(v)
				})
				time.Sleep(time.Until(stopped.Add(trial.down)))
			}
			pg.Start(t)
			back := time.Now()
			t.Logf("PostgreSQL stopped (-m %s) for %s", trial.mode, back.Sub(stopped).Round(10*time.Millisecond))

			testenv.Eventually(t, 60*time.Second, "the outsider removed and the join rule set back", func() (bool, string) {
				m, jr := testenv.MembershipOf(t, alice, room, outsider), testenv.StateContent(t, alice, room, "m.room.join_rules")["join_rule"]
				return m == "leave" && jr == "invite", fmt.Sprintf("membership %s, join rule %v", m, jr)
			})
			testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+outsider.String())
			t.Logf("PostgreSQL back → state right in %s", time.Since(back).Round(10*time.Millisecond))
			testenv.Eventually(t, 10*time.Second, "caldicott_database_up 1 again", func() (bool, string) {
				v := gauge(t, p, "caldicott_database_up")
				return v == 1, fmt.Sprint(v)
			})
			select {
			case err := <-exited:
				t.Fatalf("caldicott exited when PostgreSQL restarted: %v\n%s", err, trust.Tail(p.Log, 4000))
			default:
			}
			if got := gauge(t, p, "caldicott_leader"); got != 1 {
				t.Errorf("caldicott_leader is %v after the restart", got)
			}
			// The lease outlives an outage shorter than a lease less a
			// renewal interval, and never one longer than both.
			switch got, down := gauge(t, p, "caldicott_leader_epoch"), back.Sub(stopped); {
			case down < 3*time.Second && got != epoch:
				t.Errorf("down %s, and the leader's epoch went from %v to %v: it should have kept its lease", down, epoch, got)
			case down > 7*time.Second && got <= epoch:
				t.Errorf("down %s, and the leader's epoch is %v as before: its lease outlived the outage", down, got)
			default:
				t.Logf("down %s: the leader's epoch %v before, %v after", down, epoch, got)
			}
			checkDoneOnce(t, tr, alice, room, outsider)
		})
	}
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rep, err := st.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after PostgreSQL restarts: %+v, %v", rep, err)
	}
	log := trust.Tail(p.Log, 1<<20)
	for _, want := range []string{"The database cannot be reached", "The database answers again"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log never said %q", want)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "database") || strings.Contains(line, "eading") || strings.Contains(line, `"level":"error"`) {
			t.Logf("%.300s", line)
		}
	}
}

// checkDoneOnce: the outsider removed and named in one notice, the join
// rule set back once, and the invitation's event stored once and handled.
func checkDoneOnce(t *testing.T, tr *trust.Trust, alice *mautrix.Client, room id.RoomID, outsider id.UserID) {
	t.Helper()
	var inviteID id.EventID
	testenv.Quiet(t, 3*time.Second, "nothing done twice", func() (bool, string) {
		resp, err := alice.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 200)
		if err != nil {
			return false, err.Error()
		}
		notices, removals, repairs := 0, 0, 0
		for _, evt := range resp.Chunk {
			_ = evt.Content.ParseRaw(evt.Type)
			switch {
			case evt.Type == event.StateJoinRules && evt.Sender == tr.BotID():
				repairs++
			case evt.Type == event.StateMember && evt.GetStateKey() == outsider.String():
				switch evt.Content.AsMember().Membership {
				case event.MembershipLeave:
					removals++
				case event.MembershipInvite:
					inviteID = evt.ID
				}
			case evt.Type == event.EventMessage && evt.Sender == tr.BotID() && strings.Contains(evt.Content.AsMessage().Body, outsider.String()):
				notices++
			}
		}
		return notices == 1 && removals == 1 && repairs == 1, fmt.Sprintf("%d notices, %d removals, %d repairs of the join rule", notices, removals, repairs)
	})
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var stored, handled int
	if err := st.DB().QueryRow(ctx, `SELECT COUNT(*), COUNT(done_at) FROM inbox WHERE event_id = $1`, inviteID.String()).Scan(&stored, &handled); err != nil {
		t.Fatal(err)
	}
	if stored != 1 || handled != 1 {
		t.Errorf("the invitation %s: stored %d times, handled %d", inviteID, stored, handled)
	}
}

// gauge reads one unlabelled metric from p's /metrics (-1 if absent).
func gauge(t *testing.T, p *trust.Peer, name string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Port))
	if err != nil {
		t.Fatalf("metrics of %s: %v", p.Name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(string(body))
	if m == nil {
		return -1
	}
	var v float64
	_, _ = fmt.Sscan(m[1], &v)
	return v
}

// TestPostgresRestartedUnderPair stops PostgreSQL (immediate) for longer
// than the leader's lease under a pair of Caldicotts behind a round-robin
// proxy, with an outsider invited and the join rule opened meanwhile:
// once it is back, both processes still run, exactly one leads (at a new
// epoch), and the outsider is removed and named once, the join rule set
// back once, the audit chain intact.
func TestPostgresRestartedUnderPair(t *testing.T) {
	bin := failpointBinary(t)
	pg := testenv.NewPostgresCluster(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Database: pg.Database(t, "caldicott")})
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
	trust.RoundRobin(t, tr.Config.AppService.Port, aPort, bPort)
	a := trust.StartPeer(t, bin, tr, "a", aPort)
	a.WaitRole(t, "leader", 60*time.Second)
	b := trust.StartPeer(t, bin, tr, "b", bPort)
	b.WaitRole(t, "standby", 30*time.Second)
	exited := make(chan string, 2)
	for _, p := range []*trust.Peer{a, b} {
		go func() {
			err := p.Cmd.Wait()
			exited <- fmt.Sprintf("%s: %v", p.Name, err)
		}()
	}
	epoch := gauge(t, a, "caldicott_leader_epoch")

	outsider := tr.HS.RegisterUser(t, "outsider", false).UserID
	stopped := time.Now()
	pg.Stop(t, "immediate")
	invite(t, alice, room, outsider)
	if _, err := alice.SendStateEvent(ctx, room, event.StateJoinRules, "", map[string]any{"join_rule": "public"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*trust.Peer{a, b} {
		testenv.Eventually(t, 8*time.Second, p.Name+": caldicott_database_up 0", func() (bool, string) {
			v := gauge(t, p, "caldicott_database_up")
			return v == 0, fmt.Sprint(v)
		})
	}
	time.Sleep(time.Until(stopped.Add(9 * time.Second)))
	pg.Start(t)
	back := time.Now()
	testenv.Eventually(t, 60*time.Second, "the outsider removed and the join rule set back", func() (bool, string) {
		m, jr := testenv.MembershipOf(t, alice, room, outsider), testenv.StateContent(t, alice, room, "m.room.join_rules")["join_rule"]
		return m == "leave" && jr == "invite", fmt.Sprintf("membership %s, join rule %v", m, jr)
	})
	testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+outsider.String())
	t.Logf("PostgreSQL down %s; back → state right in %s", back.Sub(stopped).Round(10*time.Millisecond), time.Since(back).Round(10*time.Millisecond))
	checkDoneOnce(t, tr, alice, room, outsider)

	select {
	case which := <-exited:
		t.Fatalf("a caldicott exited when PostgreSQL restarted: %s", which)
	default:
	}
	leaders := 0
	for _, p := range []*trust.Peer{a, b} {
		if gauge(t, p, "caldicott_database_up") != 1 {
			t.Errorf("%s: caldicott_database_up is not 1 again", p.Name)
		}
		if role, err := p.Role(); err == nil && role == "leader" {
			leaders++
			if got := gauge(t, p, "caldicott_leader_epoch"); got <= epoch {
				t.Errorf("%s leads at epoch %v, as before the restart (%v): the lease outlived a 9 s outage", p.Name, got, epoch)
			}
		}
	}
	if leaders != 1 {
		t.Errorf("%d processes lead after the restart", leaders)
	}
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rep, err := st.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after PostgreSQL restarted under the pair: %+v, %v", rep, err)
	}
}
