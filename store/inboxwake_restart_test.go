package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
)

// TestListenInboxAfterPostgresRestart: the leader's LISTEN for the inbox
// is lost when PostgreSQL restarts (immediate stop, down 9 s); once the
// server is back the listener reconnects, wakes the leader for what was
// stored meanwhile, and LISTENs again, so a transaction a standby stores
// then wakes the leader at once, not at its next poll. (lib/pq's doubling
// of the wait between attempts, up to the 30 s once passed, reconnected
// 5.9 s after the server was back.)
func TestListenInboxAfterPostgresRestart(t *testing.T) {
	c := testenv.NewPostgresCluster(t)
	uri := c.Database(t, "caldicott")
	open := func() *Store {
		s, err := Open(context.Background(), Postgres, uri, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	leader, standby := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken := make(chan struct{}, 64)
	go leader.ListenInbox(ctx, func() { woken <- struct{}{} })
	n := 0
	store := func() {
		t.Helper()
		n++
		ev := InboxEvent{EventID: fmt.Sprintf("$e%d", n), RoomID: "!r:a", Type: "m.room.member", JSON: []byte(`{}`)}
		testenv.Eventually(t, 10*time.Second, "the standby stores a transaction", func() (bool, string) {
			_, err := standby.IngestTransaction(ctx, fmt.Sprintf("t%d", n), []InboxEvent{ev})
			return err == nil, fmt.Sprint(err)
		})
	}
	heard := func(within time.Duration) bool {
		select {
		case <-woken:
			return true
		case <-time.After(within):
			return false
		}
	}
	for ok := false; !ok; ok = heard(500 * time.Millisecond) {
		store() // until the LISTEN, begun in the goroutine, is in place
	}

	c.Stop(t, "immediate")
	time.Sleep(9 * time.Second)
	c.Start(t)
	back := time.Now()
	if !heard(10 * time.Second) {
		t.Fatal("the leader was not woken when the inbox's notifications came back")
	}
	took := time.Since(back)
	t.Logf("PostgreSQL back → the listener reconnected and woke the leader in %s", took.Round(10*time.Millisecond))
	if took > 4*time.Second {
		t.Errorf("the listener reconnected %s after PostgreSQL was back; want within 4 s (before the leader's 5 s poll)", took)
	}
	for len(woken) > 0 {
		<-woken
	}
	stored := time.Now()
	store()
	if !heard(time.Second) {
		t.Fatal("a transaction the standby stored after the restart did not wake the leader within 1 s: no LISTEN again")
	}
	t.Logf("woken %s after the standby stored a transaction", time.Since(stored).Round(time.Millisecond))
}
