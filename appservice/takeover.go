package appservice

import (
	"context"
	"fmt"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// takeover is a tenure that began by taking the lease from a leader that
// stopped without handing it over (a lapsed lease, or one whose process on
// this host had gone): the one failure an operator hears of from nothing
// else, since the new leader repairs everything it left.
type takeover struct {
	from  store.LeaseState
	epoch int64
	at    time.Time
}

// noteTakeover remembers, for the tenure at l, that it took the lease from
// prev, unless prev was released (a clean stop, or never held) or was this
// process's own earlier tenure (it said so when it stood down).
func (s *Service) noteTakeover(prev store.LeaseState, l store.Lease) {
	if prev.Released || prev.Holder == "" || prev.Holder == l.Holder {
		return
	}
	s.metrics.Takeovers.Inc()
	s.Log.Warn().Str("from", prev.Holder).Int64("epoch", l.Epoch).Msg("Took the leader's lease from a Caldicott that stopped without handing it over")
	s.leader.tookOver.Store(&takeover{from: prev, epoch: l.Epoch, at: s.Now()})
}

// tellTakeover tells the management room of a takeover once this tenure is
// enforcing, with the actions it finished for the leader before it
// (replayed), and says when the catch-up is done: the alert, and its
// all-clear. Each notice is named by the epoch, so a crash and replay
// send it once.
func (s *Service) tellTakeover(ctx context.Context, t takeover, replayed int, caughtUp <-chan time.Time) {
	finished := "It had left no action unfinished."
	switch {
	case replayed == 1:
		finished = "I finished the 1 action it had left on the way."
	case replayed > 1:
		finished = fmt.Sprintf("I finished the %d actions it had left on the way.", replayed)
	}
	text := fmt.Sprintf("⚠ I took over as the leader (epoch %d) from %s, which stopped without handing over: it was killed, crashed, froze, or lost the database. %s I am now checking every room for anything that changed meanwhile and will say when that is done. If this happens again, check the health of Caldicott's host and of PostgreSQL.",
		t.epoch, t.from.Holder, finished)
	if err := s.NotifyManagement(executor.WithInput(ctx, fmt.Sprintf("takeover:%d", t.epoch)), policy.RuleNotice, text); err != nil {
		s.Log.Warn().Err(err).Msg("Could not tell the management room of the takeover")
	}
	var done time.Time
	select {
	case <-ctx.Done():
		return // lost the lease again: the next tenure says so
	case done = <-caughtUp:
	}
	text = fmt.Sprintf("✅ Caught up after the takeover at epoch %d: every room was checked and repaired where needed, %s after I took over.",
		t.epoch, done.Sub(t.at).Round(100*time.Millisecond))
	if err := s.NotifyManagement(executor.WithInput(ctx, fmt.Sprintf("takeover-caught-up:%d", t.epoch)), policy.RuleNotice, text); err != nil {
		s.Log.Warn().Err(err).Msg("Could not tell the management room that the takeover has caught up")
	}
}
