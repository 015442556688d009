package store

import (
	"context"
	"testing"
	"time"
)

// Two processes storing transactions at once: the one that took the
// earlier sequence number commits after the one that took the later, and
// after the leader's cursor has passed the later. The cursor still hands
// out the earlier event, once; a number that never appears is given up
// after LateCommitGrace; events a previous leader handled are not gaps and
// are not handed out again.
func TestInboxCursorCatchesLateCommits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		a, b, leader := open(), open(), open()
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		leader.SetClock(func() time.Time { return now })
		ingest := func(s *Store, txn, id string) {
			t.Helper()
			if _, err := s.IngestTransaction(ctx, txn, []InboxEvent{{EventID: id, RoomID: "!r:x", Type: "m.room.member", JSON: []byte(`{}`)}}); err != nil {
				t.Fatal(err)
			}
		}
		cur := leader.NewInboxCursor()
		next := func(want string) {
			t.Helper()
			got, err := cur.Next(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != want {
				t.Fatalf("cursor handed out %q, want %q", ids(got), want)
			}
		}
		// Handled by a previous leader: neither handed out nor a gap.
		ingest(b, "t0", "$handled")
		ingest(b, "t1", "$pending")
		first, _ := leader.PendingEvents(ctx, 1)
		if err := leader.MarkEventDone(ctx, first[0].Seq); err != nil {
			t.Fatal(err)
		}
		next("$pending")

		commitLate, _ := holdEarlierNumber(t, a, "$early", func() { ingest(b, "t2", "$later") })
		next("$later")
		if cur.Waiting() != 1 {
			t.Fatalf("the cursor waits for %d numbers, want 1 (the uncommitted one)", cur.Waiting())
		}
		commitLate()
		next("$early")
		next("")
		if cur.Waiting() != 0 {
			t.Fatalf("the cursor still waits for %d numbers after the late commit", cur.Waiting())
		}

		// A number that never appears (a rolled-back insert) is waited for
		// within the grace and given up after it.
		_, rollBack := holdEarlierNumber(t, a, "$rolled-back", func() { ingest(b, "t3", "$after") })
		next("$after")
		rollBack()
		next("")
		if cur.Waiting() != 1 {
			t.Fatalf("the cursor gave up a number within the grace: waits for %d", cur.Waiting())
		}
		now = now.Add(LateCommitGrace + time.Second)
		next("")
		if cur.Waiting() != 0 {
			t.Fatalf("the cursor still waits for %d numbers after the grace", cur.Waiting())
		}
	})
}

// holdEarlierNumber has a take the next sequence number for an event in a
// transaction it keeps open while later (another process) stores an event
// and commits, and returns a's commit and rollback. SQLite has one writer
// at a time, so there the same order is made by hand: later's row is moved
// one number on, and the commit stores the event in the hole left.
func holdEarlierNumber(t *testing.T, a *Store, id string, later func()) (commit, rollback func()) {
	t.Helper()
	ctx := context.Background()
	insert := `INSERT INTO inbox (event_id, room_id, event_type, event_json, received_at) VALUES ($1, '!r:x', 'm.room.member', '{}', 0)`
	if a.Engine() == SQLite {
		later()
		var seq int64
		if err := a.db.QueryRow(ctx, `UPDATE inbox SET seq = seq + 1 WHERE seq = (SELECT MAX(seq) FROM inbox) RETURNING seq`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		commit = func() {
			if _, err := a.db.Exec(ctx, `INSERT INTO inbox (seq, event_id, room_id, event_type, event_json, received_at) VALUES ($1, $2, '!r:x', 'm.room.member', '{}', 0)`, seq-1, id); err != nil {
				t.Fatal(err)
			}
		}
		return commit, func() {}
	}
	tx, err := a.db.RawDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, insert, id); err != nil {
		t.Fatal(err)
	}
	later()
	return func() {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}, func() {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
}
