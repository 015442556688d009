package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/retry"
)

// Two processes on one database: one takes the lease, the other is
// refused until it lapses, then takes it at the next epoch; renewing keeps
// the epoch, releasing lets the other in at once. A released lease (and
// the one never held) reads as released; a lapsed one does not, so the
// next leader can tell a takeover from a handover.
func TestLeaseTakeRenewTakeover(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		a, b := open(), open()
		if st, err := b.LeaseHolder(ctx); err != nil || !st.Released || st.Holder != "" {
			t.Fatalf("the lease never held reads %+v, %v; want released, no holder", st, err)
		}
		la, err := a.AcquireLease(ctx, "host-a/1/aa", 0, time.Minute)
		if err != nil || la.Epoch != 1 {
			t.Fatalf("a takes the lease: %+v, %v (want epoch 1)", la, err)
		}
		if _, err := b.AcquireLease(ctx, "host-b/2/bb", 0, time.Minute); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("b took a held lease: %v", err)
		}
		// Renewed with a lease so short it lapses: the epoch stays.
		renewed, err := a.AcquireLease(ctx, la.Holder, la.Epoch, 50*time.Millisecond)
		if err != nil || renewed != la {
			t.Fatalf("a renews: %+v, %v (want %+v)", renewed, err, la)
		}
		time.Sleep(150 * time.Millisecond)
		st, err := b.LeaseHolder(ctx)
		if err != nil || st.Holder != la.Holder || st.ExpiresIn >= 0 || st.Released {
			t.Fatalf("lapsed lease reads %+v, %v; want lapsed, not released", st, err)
		}
		lb, err := b.AcquireLease(ctx, "host-b/2/bb", 0, time.Minute)
		if err != nil || lb.Epoch != 2 {
			t.Fatalf("b takes the lapsed lease: %+v, %v (want epoch 2)", lb, err)
		}
		// a, resuming, can neither renew at its old epoch nor take it back.
		if _, err := a.AcquireLease(ctx, la.Holder, la.Epoch, time.Minute); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("a renewed a lease b took over: %v", err)
		}
		if err := b.ReleaseLease(ctx, lb); err != nil {
			t.Fatal(err)
		}
		if st, err := a.LeaseHolder(ctx); err != nil || !st.Released || st.Holder != lb.Holder {
			t.Fatalf("released lease reads %+v, %v; want released by %s", st, err, lb.Holder)
		}
		again, err := a.AcquireLease(ctx, la.Holder, 0, time.Minute)
		if err != nil || again.Epoch != 3 {
			t.Fatalf("a takes the released lease: %+v, %v (want epoch 3)", again, err)
		}
		st, err = b.LeaseHolder(ctx)
		if err != nil || st.Lease != again || st.ExpiresIn <= 50*time.Second || st.Released {
			t.Fatalf("lease reads %+v, %v; want %+v for about a minute", st, err, again)
		}
	})
}

// A fenced store's action-log writes and audit appends go through while
// its lease holds and are refused with ErrNotLeader, writing nothing, once
// another process has taken over; a standby (fenced with no lease) writes
// nothing at all. The gatekeeper's unfenced appends and an unfenced store
// (the command-line tools) are not affected.
func TestFencedWritesRefusedAfterTakeover(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		a, b, tool := open(), open(), open()
		la, err := a.AcquireLease(ctx, "a", 0, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		a.Fence(la)
		b.Fence(Lease{})
		plan := func(s *Store, txn string) error {
			_, err := s.PlanActions(ctx, []LoggedAction{{TxnID: txn, RoomID: "!r:a", Actor: "@x:a", JSON: []byte(`{}`)}})
			return err
		}
		if err := plan(a, "t1"); err != nil {
			t.Fatalf("leader plans: %v", err)
		}
		if err := a.CompleteAction(ctx, "t1", ActionDone, "", AuditEntry{Action: "kick"}); err != nil {
			t.Fatalf("leader completes: %v", err)
		}
		if err := plan(a, "t2"); err != nil {
			t.Fatalf("leader plans: %v", err)
		}
		if err := plan(b, "standby"); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("standby planned an action: %v", err)
		}
		time.Sleep(150 * time.Millisecond)
		lb, err := b.AcquireLease(ctx, "b", 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		b.Fence(lb)
		refused := map[string]error{
			"plan":     plan(a, "t3"),
			"complete": a.CompleteAction(ctx, "t2", ActionDone, "", AuditEntry{Action: "kick"}),
		}
		_, refused["audit"] = a.AppendAudit(ctx, AuditEntry{Action: "refused.command"})
		for name, err := range refused {
			if !errors.Is(err, ErrNotLeader) || retry.IsTransient(err) {
				t.Errorf("old leader's %s: %v (want ErrNotLeader, not transient)", name, err)
			}
		}
		if _, err := a.Unfenced().AppendAudit(ctx, AuditEntry{Action: "gatekeeper.refused"}); err != nil {
			t.Errorf("the gatekeeper's append was fenced: %v", err)
		}
		if _, err := tool.AppendAudit(ctx, AuditEntry{Action: "export"}); err != nil {
			t.Errorf("an unfenced store's append was refused: %v", err)
		}
		if err := plan(b, "t4"); err != nil {
			t.Fatalf("new leader plans: %v", err)
		}
		pending, err := b.PendingActions(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var txns []string
		for _, p := range pending {
			txns = append(txns, p.TxnID)
		}
		if len(txns) != 2 || txns[0] != "t2" || txns[1] != "t4" {
			t.Errorf("pending actions = %v; want t2 (left pending by the old leader, for the new one's replay) and t4", txns)
		}
		var actions []string
		if err := tool.AuditSince(ctx, time.Time{}, func(e AuditEntry) error {
			actions = append(actions, e.Action)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(actions) != 3 || actions[0] != "kick" || actions[1] != "gatekeeper.refused" || actions[2] != "export" {
			t.Errorf("audit log = %v; want kick, gatekeeper.refused, export", actions)
		}
		if rep, err := tool.VerifyAudit(ctx); err != nil || !rep.OK() {
			t.Errorf("audit chain: %+v, %v", rep, err)
		}
	})
}

// On PostgreSQL the leader hears of events any process stores, at once;
// on SQLite ListenInbox returns, since its one process wakes itself.
func TestListenInboxHearsOtherProcesses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		leader, standby := open(), open()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		woken := make(chan struct{}, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			leader.ListenInbox(ctx, func() { woken <- struct{}{} })
		}()
		if leader.Engine() == SQLite {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ListenInbox kept running on SQLite")
			}
			return
		}
		// Stored again until heard: the LISTEN starts in the goroutine.
		deadline := time.After(5 * time.Second)
		for i := 0; ; i++ {
			start := time.Now()
			ev := InboxEvent{EventID: fmt.Sprintf("$e%d", i), RoomID: "!r:a", Type: "m.room.member", JSON: []byte(`{}`)}
			if _, err := standby.IngestTransaction(ctx, fmt.Sprintf("t%d", i), []InboxEvent{ev}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-woken:
				t.Logf("woken %s after the standby stored a transaction", time.Since(start))
			case <-time.After(500 * time.Millisecond):
				continue
			case <-deadline:
				t.Fatal("the leader was not woken for events the standby stored")
			}
			break
		}
		cancel()
		<-done
	})
}

// A restart on the same host takes the lease from its dead predecessor at
// once, at the next epoch, but only from the tenure it names.
func TestTakeLeaseFromGoneHolder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		s := open()
		dead, err := s.AcquireLease(ctx, "h/100/aa", 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeLeaseFrom(ctx, "h/200/bb", Lease{Holder: "h/100/aa", Epoch: dead.Epoch + 1}, time.Minute); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("took the lease from a tenure that does not hold it: %v", err)
		}
		l, err := s.TakeLeaseFrom(ctx, "h/200/bb", dead, time.Minute)
		if err != nil || l.Epoch != dead.Epoch+1 || l.Holder != "h/200/bb" {
			t.Fatalf("take over: %+v, %v", l, err)
		}
	})
}

// A leader frozen in the middle of a fenced write (its transaction open,
// the lease's row locked) does not keep the lease from the standby:
// PostgreSQL ends the idle transaction, the standby takes over, and the
// frozen write never commits.
func TestFrozenFencedWriteDoesNotBlockTakeover(t *testing.T) {
	withAllDatabases(t, func(t *testing.T, engine, uri string) {
		if engine != Postgres {
			t.Skip("SQLite has one process; its writer holds the whole database")
		}
		ctx := context.Background()
		open := func() *Store {
			s, err := Open(ctx, engine, uri, 4)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		a, b := open(), open()
		la, err := a.AcquireLease(ctx, "a", 0, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		a.Fence(la)
		frozen, thaw := make(chan struct{}), make(chan struct{})
		wrote := make(chan error, 1)
		go func() {
			wrote <- a.db.DoTxn(ctx, nil, func(ctx context.Context) error {
				if err := a.checkLeader(ctx); err != nil {
					return err
				}
				close(frozen)
				<-thaw
				_, err := a.db.Exec(ctx, `INSERT INTO action_log (txn_id, room_id, actor, action_json, state, created_at) VALUES ('late', '!r:a', '@x:a', '{}', 'pending', 0)`)
				return err
			})
		}()
		<-frozen
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var lb Lease
		for lb, err = b.AcquireLease(tctx, "b", 0, time.Minute); errors.Is(err, ErrNotLeader); lb, err = b.AcquireLease(tctx, "b", 0, time.Minute) {
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || lb.Epoch != la.Epoch+1 {
			t.Fatalf("the standby could not take over from a leader frozen mid-write: %+v, %v", lb, err)
		}
		t.Logf("took over %s after the leader froze mid-write", time.Since(start).Round(time.Millisecond))
		close(thaw)
		if err := <-wrote; err == nil {
			t.Fatal("the frozen leader's write committed after the takeover")
		}
		pending, err := b.PendingActions(ctx, 10)
		if err != nil || len(pending) != 0 {
			t.Errorf("pending actions after the takeover: %+v, %v", pending, err)
		}
	})
}

// The rules a process leads by are recorded with the lease when it takes
// or renews it, so a standby can compare its own with the leader's.
func TestLeaseRecordsTheLeadersRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		a, b := open(), open()
		st, err := b.LeaseHolder(ctx)
		if err != nil || st.Rules != (Rules{}) {
			t.Fatalf("nobody has led: %+v, %v (want no rules)", st, err)
		}
		ra := Rules{Fingerprint: "aaaa", Version: "1.0.0"}
		a.LeadBy(ra)
		la, err := a.AcquireLease(ctx, "a", 0, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if st, err = b.LeaseHolder(ctx); err != nil || st.Rules != ra || st.Lease != la {
			t.Fatalf("lease reads %+v, %v; want %+v by %+v", st, err, la, ra)
		}
		// Since: when the tenure began, by the database's clock, kept at renewal.
		began := st.Since
		if d := time.Since(began); d < -time.Minute || d > time.Minute {
			t.Fatalf("the tenure began at %v, not about now", began)
		}
		time.Sleep(20 * time.Millisecond)
		// A process that restarts with other rules records them at renewal.
		ra2 := Rules{Fingerprint: "bbbb", Version: "1.0.1"}
		a.LeadBy(ra2)
		if _, err := a.AcquireLease(ctx, "a", la.Epoch, time.Minute); err != nil {
			t.Fatal(err)
		}
		if st, _ = b.LeaseHolder(ctx); st.Rules != ra2 || !st.Since.Equal(began) {
			t.Fatalf("renewed lease reads rules %+v since %v, want %+v since %v", st.Rules, st.Since, ra2, began)
		}
		rb := Rules{Fingerprint: "cccc", Version: "1.0.0"}
		b.LeadBy(rb)
		lb, err := b.TakeLeaseFrom(ctx, "b", la, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ = a.LeaseHolder(ctx); st.Rules != rb || st.Lease != lb || !st.Since.After(began) {
			t.Fatalf("lease taken over reads %+v, want %+v by %+v, since after %v", st, lb, rb, began)
		}
	})
}

// Clock skew between processes does not move the lease: it is kept by the
// database's clock only, so a process whose clock runs an hour fast cannot
// take a live lease early, and one whose clock runs an hour slow still
// sees a lapsed lease as lapsed.
func TestLeaseIgnoresProcessClocks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		fast, slow := open(), open()
		fast.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
		slow.SetClock(func() time.Time { return time.Now().Add(-time.Hour) })
		ls, err := slow.AcquireLease(ctx, "host-slow/1/aa", 0, 300*time.Millisecond)
		if err != nil || ls.Epoch != 1 {
			t.Fatalf("the slow process takes the lease: %+v, %v", ls, err)
		}
		if _, err := fast.AcquireLease(ctx, "host-fast/2/bb", 0, time.Minute); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("a process an hour fast took a live lease: %v", err)
		}
		st, err := fast.LeaseHolder(ctx)
		if err != nil || st.ExpiresIn <= 0 || st.ExpiresIn > 300*time.Millisecond {
			t.Fatalf("the fast process reads the lease as %+v, %v; want about 300 ms left", st, err)
		}
		time.Sleep(400 * time.Millisecond)
		lf, err := fast.AcquireLease(ctx, "host-fast/2/bb", 0, 300*time.Millisecond)
		if err != nil || lf.Epoch != 2 {
			t.Fatalf("the fast process takes the lapsed lease: %+v, %v", lf, err)
		}
		time.Sleep(400 * time.Millisecond)
		if l, err := slow.AcquireLease(ctx, "host-slow/1/aa", 0, time.Minute); err != nil || l.Epoch != 3 {
			t.Fatalf("a process an hour slow sees the lapsed lease as lapsed: %+v, %v (want epoch 3)", l, err)
		}
	})
}
