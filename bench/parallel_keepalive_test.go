package bench_test

import (
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// comings keeps people coming and going in one clinical room, as on a ward
// by day: Alice invites someone who is not staff every interval, and
// Caldicott revokes it. Caldicott paces its long jobs only while people
// are about (worker.GiveWayFor), and a restarted Caldicott knows of no
// one, so without this a reconciliation would run flat out until the
// first sample — a burst the samples would then be measured after.
type comings struct {
	alice    *mautrix.Client
	room     id.RoomID
	visitors []id.UserID
	every    time.Duration
}

// start invites the first visitor at once and the rest every c.every,
// until the returned stop is called or the visitors run out.
func (c *comings) start(t *testing.T) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(c.every)
		defer tick.Stop()
		for len(c.visitors) > 0 {
			v := c.visitors[0]
			c.visitors = c.visitors[1:]
			if _, err := c.alice.InviteUser(ctx, c.room, &mautrix.ReqInviteUser{UserID: v}); err != nil {
				t.Errorf("keep people coming: invite %s: %v", v, err)
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
		t.Logf("keep people coming: out of visitors")
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
