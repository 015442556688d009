package appservice_test

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// dendriteOutage is how long the homeserver stays down (issue 22), and
// backToRight how soon after its return the pending work must be done:
// the 10s a failover has.
const (
	dendriteOutage = 60 * time.Second
	backToRight    = 10 * time.Second
)

// TestDendriteDown stops the trust's Dendrite for a minute with work
// pending — an outsider invited and a protection changed just before, a
// member marked as a leaver during it, the periodic jobs running
// throughout — and starts it again. Caldicott keeps running and says the
// homeserver is unreachable (caldicott_homeserver_up, /ready, the log);
// once it is back each pending action happens once, the management room
// hears of the outage once, the alert clears, and the audit chain holds.
func TestDendriteDown(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	// The periodic jobs run during the outage, reconciliation among them
	// (every 20s: it fails three times, and next runs some 15s after
	// Dendrite is back); the directory sweep keeps its default (5 min). So
	// what is done within backToRight of Dendrite's return was done by the
	// events and the directory's journal that waited, not by a later job.
	tr.Config.Policy.ReconcileInterval.Duration = 20 * time.Second
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	bob := tr.HS.RegisterUser(t, "bob", false)
	staff := func(cli *mautrix.Client, status string) store.StaffRecord {
		return store.StaffRecord{UserID: cli.UserID.String(), Name: cli.UserID.Localpart(), Role: "Nurse", Status: status, Source: "csv"}
	}
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{staff(alice, "active"), staff(bob, "active")}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice, bob)
	ig, mgmt := tr.IGAdmin(t)
	outsider := tr.HS.RegisterUser(t, "outsider", false)

	// Work pending as Dendrite goes: whatever Caldicott managed before it
	// went is not done again, the rest is done once it is back. Dendrite
	// goes once both events reached Caldicott: one it has not delivered
	// when it stops, it drops (Caldicott's reconciliation after the outage
	// finds a drift so lost, but not an invitation: see operations.md).
	received := func() float64 { return testutil.ToFloat64(tr.Service.Metrics().EventsReceived) }
	before := received()
	invite(t, alice, room, outsider.UserID)
	testenv.SetState(t, alice, room, "m.room.join_rules", map[string]any{"join_rule": "public"})
	testenv.Eventually(t, 10*time.Second, "the invitation and the drift delivered", func() (bool, string) {
		return received() >= before+2, fmt.Sprint(received() - before)
	})
	stopped := time.Now()
	tr.HS.Stop()
	// A leaver marked while it is down: the directory's journal is read
	// every second, but nobody can be removed until it is back.
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{staff(bob, "left")}); err != nil {
		t.Fatal(err)
	}

	up := func() float64 { return testutil.ToFloat64(tr.Service.Metrics().HomeserverUp) }
	testenv.Eventually(t, 20*time.Second, "caldicott_homeserver_up 0", func() (bool, string) {
		return up() == 0, fmt.Sprint(up())
	})
	alerted := time.Since(stopped)
	if code, body := httpGet(t, tr, "/ready"); code != http.StatusOK || !strings.Contains(body, "homeserver unreachable since") {
		t.Errorf("/ready during the outage = %d %q; want 200 and the homeserver unreachable", code, body)
	}
	// Caldicott keeps running and answering through the outage.
	for time.Since(stopped) < dendriteOutage {
		if code, body := httpGet(t, tr, "/health"); code != http.StatusOK {
			t.Fatalf("/health during the outage = %d %q", code, body)
		}
		time.Sleep(5 * time.Second)
	}
	if up() != 0 {
		t.Errorf("caldicott_homeserver_up = %v at the end of the outage; want 0", up())
	}
	tr.HS.Start(t)
	back := time.Now()
	t.Logf("dendrite down %s; caldicott_homeserver_up 0 after %s", back.Sub(stopped).Round(time.Second), alerted.Round(100*time.Millisecond))

	testenv.WaitMembership(t, alice, room, outsider.UserID, "leave")
	testenv.WaitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	testenv.WaitMembership(t, alice, room, bob.UserID, "leave")
	if took := time.Since(back); took > backToRight {
		t.Errorf("the state was right %s after Dendrite was back; want within %s", took, backToRight)
	}
	t.Logf("dendrite back → outsider and leaver removed, join rule repaired: %s", time.Since(back).Round(100*time.Millisecond))
	testenv.WaitForNotice(t, ig, mgmt, tr.BotID(), "The homeserver could not be reached for")
	testenv.Eventually(t, 10*time.Second, "caldicott_homeserver_up 1", func() (bool, string) {
		return up() == 1, fmt.Sprint(up())
	})
	t.Logf("dendrite back → management room told, alert cleared: %s", time.Since(back).Round(100*time.Millisecond))
	log := trust.Tail(tr.LogPath, 1<<24)
	t.Logf("during the outage: %d event retries, %d \"cannot be reached\" log lines",
		int(testutil.ToFloat64(tr.Service.Metrics().HandleRetries)), strings.Count(log, "The homeserver cannot be reached"))

	for _, who := range []id.UserID{outsider.UserID, bob.UserID} {
		testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+who.String())
	}
	testenv.WaitForNotice(t, alice, room, tr.BotID(), "the join rule: public → invite only")
	// Nothing doubled, even with Dendrite resending what it had queued.
	outage := func() int {
		return countContaining(testenv.BotNotices(t, ig, mgmt, tr.BotID()), "could not be reached")
	}
	testenv.Quiet(t, 5*time.Second, "one of each", func() (bool, string) {
		notices := testenv.BotNotices(t, alice, room, tr.BotID())
		got := fmt.Sprintf("outsider notices %d, leaver notices %d, join-rule notices %d, outage notices %d, join-rule repairs %d, removals %d/%d",
			countContaining(notices, "I removed "+outsider.UserID.String()), countContaining(notices, "I removed "+bob.UserID.String()),
			countContaining(notices, "the join rule: public → invite only"), outage(),
			botStateEvents(t, alice, room, tr.BotID(), "m.room.join_rules", ""),
			botStateEvents(t, alice, room, tr.BotID(), "m.room.member", outsider.UserID.String()),
			botStateEvents(t, alice, room, tr.BotID(), "m.room.member", bob.UserID.String()))
		if got != "outsider notices 1, leaver notices 1, join-rule notices 1, outage notices 1, join-rule repairs 1, removals 1/1" {
			return false, got + "; the room's notices: " + strings.Join(notices, " | ")
		}
		return true, ""
	})
	if n := strings.Count(log, "The homeserver cannot be reached"); n != 1 {
		t.Errorf("the log said %d times that the homeserver cannot be reached; want once", n)
	}
	if n := testutil.ToFloat64(tr.Service.Metrics().HomeserverOutages); n != 1 {
		t.Errorf("caldicott_homeserver_outages_total = %v; want 1", n)
	}
	if _, body := httpGet(t, tr, "/ready"); strings.Contains(body, "unreachable") {
		t.Errorf("/ready after the outage still says %q", body)
	}
	if rep, err := tr.Store.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after the outage: %+v, %v", rep, err)
	}
}

// httpGet reads one of Caldicott's own pages (/health, /ready).
func httpGet(t *testing.T, tr *trust.Trust, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(tr.Config.AppService.Address + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func countContaining(texts []string, sub string) int {
	n := 0
	for _, s := range texts {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// botStateEvents counts the bot's state events of one type and key in the
// room's recent timeline: a repair or removal done twice shows as two.
func botStateEvents(t *testing.T, cli *mautrix.Client, room id.RoomID, bot id.UserID, typ, key string) int {
	t.Helper()
	resp, err := cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 200)
	if err != nil {
		t.Fatalf("read messages of %s: %v", room, err)
	}
	n := 0
	for _, evt := range resp.Chunk {
		if evt.Sender == bot && evt.Type.Type == typ && evt.StateKey != nil && *evt.StateKey == key {
			n++
		}
	}
	return n
}

// sqliteLockHeld is how long another process holds Caldicott's SQLite
// database locked (issue 22: 15-30 s).
const sqliteLockHeld = 20 * time.Second

// TestSQLiteLocked has another process (the sqlite3 tool, as an operator's
// backup or a stray query might) hold Caldicott's SQLite database with
// BEGIN EXCLUSIVE for 20 s while an outsider is invited and a protection
// changed. Caldicott does not acknowledge Dendrite's transactions it cannot
// store (Dendrite sends them again), stops acting while it cannot renew
// its lease and says why, and once the lock is released the outsider is
// removed once, the drift repaired once, the audit chain intact.
func TestSQLiteLocked(t *testing.T) {
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 tool")
	}
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice)
	outsider := tr.HS.RegisterUser(t, "outsider", false)

	// The lock, held by another process until its input is closed.
	lock := exec.Command(sqlite3, tr.Config.Database.URI)
	in, err := lock.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lock.Stdout, lock.Stderr = &out, &out
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(in, "BEGIN EXCLUSIVE;\nINSERT OR REPLACE INTO kv (key, value) VALUES ('lock-test', 'held');\nSELECT 'locked';\n"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "sqlite3 holding the lock", func() (bool, string) {
		return strings.Contains(out.String(), "locked"), out.String()
	})
	locked := time.Now()
	invite(t, alice, room, outsider.UserID)
	testenv.SetState(t, alice, room, "m.room.join_rules", map[string]any{"join_rule": "public"})
	for time.Since(locked) < sqliteLockHeld {
		if code, body := httpGet(t, tr, "/health"); code != http.StatusOK {
			t.Fatalf("/health while the database is locked = %d %q", code, body)
		}
		time.Sleep(2 * time.Second)
	}
	// Not acting, and saying so: the lease could not be renewed.
	leader := func() float64 { return testutil.ToFloat64(tr.Service.Metrics().Leader) }
	if code, body := httpGet(t, tr, "/ready"); code != http.StatusServiceUnavailable || leader() != 0 {
		t.Errorf("with the database locked: /ready %d %q, caldicott_leader %v; want 503 standby, 0", code, body, leader())
	}
	if got := testenv.MembershipOf(t, alice, room, outsider.UserID); got != "invite" {
		t.Errorf("the outsider is %q with the database locked; want still invited (nothing can be recorded, so nothing done)", got)
	}
	storeErrors := testutil.ToFloat64(tr.Service.Metrics().TxnsReceived.WithLabelValues("store_error"))
	if storeErrors < 1 {
		t.Errorf("caldicott_transactions_total{outcome=\"store_error\"} = %v with the database locked; want the transaction refused", storeErrors)
	}
	if _, err := io.WriteString(in, "ROLLBACK;\n.quit\n"); err != nil {
		t.Fatal(err)
	}
	_ = in.Close()
	if err := lock.Wait(); err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out.String())
	}
	released := time.Now()

	testenv.WaitMembership(t, alice, room, outsider.UserID, "leave")
	testenv.WaitForState(t, alice, room, "m.room.join_rules", "join_rule", "invite")
	testenv.Eventually(t, 10*time.Second, "caldicott_leader 1", func() (bool, string) { return leader() == 1, fmt.Sprint(leader()) })
	t.Logf("database locked %s (%v transactions refused); lock released → leading again, outsider removed, join rule repaired: %s",
		released.Sub(locked).Round(time.Second), storeErrors, time.Since(released).Round(100*time.Millisecond))
	testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+outsider.UserID.String())
	testenv.WaitForNotice(t, alice, room, tr.BotID(), "the join rule: public → invite only")
	testenv.Quiet(t, 5*time.Second, "one of each", func() (bool, string) {
		notices := testenv.BotNotices(t, alice, room, tr.BotID())
		got := fmt.Sprintf("outsider notices %d, join-rule repairs %d, removals %d",
			countContaining(notices, "I removed "+outsider.UserID.String()),
			botStateEvents(t, alice, room, tr.BotID(), "m.room.join_rules", ""),
			botStateEvents(t, alice, room, tr.BotID(), "m.room.member", outsider.UserID.String()))
		return got == "outsider notices 1, join-rule repairs 1, removals 1", got
	})
	// Said as it stopped acting, with SQLite's own words for why. (Once in
	// the runs so far but one, which lost the lease a second time.)
	log := trust.Tail(tr.LogPath, 1<<24)
	if n := strings.Count(log, "No longer leading"); n < 1 || !strings.Contains(log, "SQLITE_BUSY") {
		t.Errorf("the log said %d times that it stopped leading, SQLITE_BUSY named: %v", n, strings.Contains(log, "SQLITE_BUSY"))
	} else {
		t.Logf("the log said %d time(s) that it stopped leading", n)
	}
	if rep, err := tr.Store.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after the lock: %+v, %v", rep, err)
	}
}
