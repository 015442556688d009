package appservice

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/store"
)

// dbHealth tells the operator when the database stops answering and when
// it answers again: the caldicott_database_up gauge, and one log line each
// way, not one per failed statement. It hears of the lease's statements,
// which every process runs every third of a lease whether it leads or not.
type dbHealth struct {
	up  prometheus.Gauge
	log zerolog.Logger

	mu        sync.Mutex
	down      bool
	downSince time.Time
}

// note records the outcome of a statement sent at now (by the monotonic
// clock): err nil or ErrNotLeader (the database answered), or a failure to
// reach it. A caller that is stopping passes no failure.
func (h *dbHealth) note(err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil || errors.Is(err, store.ErrNotLeader) {
		h.up.Set(1)
		if h.down {
			h.down = false
			h.log.Info().Dur("down_for", now.Sub(h.downSince)).Msg("The database answers again")
		}
		return
	}
	h.up.Set(0)
	if !h.down {
		h.down, h.downSince = true, now
		h.log.Error().Err(err).Msg("The database cannot be reached: no transaction is stored (the homeserver sends them again) and nothing is done until it answers")
	}
}
