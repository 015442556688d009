package gatekeeper

import (
	"context"
	"math"
	"time"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/store"
)

// newFedView makes the gatekeeper's federation from its settings.
func (g *Gatekeeper) newFedView() *fedView {
	v := &fedView{
		rec: g.s.Records, own: g.s.Rules.OwnServer, configured: g.s.Rules.FederationServers,
		listConfigured: g.s.ListConfigured, maxAge: g.s.MaxListAge,
	}
	if g.s.Records != nil {
		v.report = (&standing{rec: g.s.Records, maxAge: g.s.MaxListAge, metrics: g.metrics, log: g.log}).report
	}
	return v
}

// standing says where the gatekeeper stands after each read of the view:
// in the metrics every time; in the log and the store's record once per
// change. The appservice, which alone writes to the homeserver, tells the
// management room what the store records.
type standing struct {
	rec     Records
	maxAge  time.Duration
	metrics *Metrics
	log     zerolog.Logger
	// recorded is the state last written to the store ("" before the
	// first): a write that failed is tried again at the next read.
	recorded string
	since    time.Time
}

// report is fedView's report; fedView.refreshing serialises its calls.
func (st *standing) report(ctx context.Context, s fedSnapshot, was string) {
	now := st.rec.Now()
	age := math.NaN()
	if s.view != nil {
		age = now.Sub(s.view.UpdatedAt).Seconds()
	}
	st.metrics.ViewAge.Set(age)
	for _, state := range failStates {
		v := 0.0
		if state == s.state {
			v = 1
		}
		st.metrics.FailState.WithLabelValues(state).Set(v)
	}
	if s.state != was {
		st.since = now
		st.logChange(s, was)
	}
	// A store that cannot be read cannot be written either: that state is
	// the logs' and the metrics' alone.
	if s.state == st.recorded || s.state == StateStoreUnavailable {
		return
	}
	rec := store.GatekeeperState{State: s.state, Since: st.since, MaxListAge: st.maxAge}
	if s.view != nil {
		rec.ListUpdatedAt = s.view.UpdatedAt
	}
	if err := st.rec.SetGatekeeperState(ctx, rec); err == nil {
		st.recorded = s.state
	}
}

// logChange says once what the new state means for the traffic.
func (st *standing) logChange(s fedSnapshot, was string) {
	log := st.log.With().Str("state", s.state).Str("was", orWord(was, "starting")).Dur("max_list_age", st.maxAge).Logger()
	if s.view != nil {
		log = log.With().Time("view_updated_at", s.view.UpdatedAt).Logger()
	}
	switch s.state {
	case StateOK:
		log.Info().Msg("The federation view is current: member trusts and leavers as the appservice last read the list")
	case StateListMissing:
		log.Warn().Msg("The appservice has not written a federation view yet: only federation.servers are member trusts, and no leavers of other trusts are known")
	case StateListStale:
		log.Warn().Msg("The federation view is older than max_list_age: federation requests from trusts not in federation.servers are refused, and they cannot be invited, until the appservice reads the list again")
	case StateStoreUnavailable:
		log.Warn().AnErr("error", s.storeErr).Msg("The store cannot be read: the last good federation view serves until it is too old; invitations into clinical rooms that need the directory or the list are refused")
	}
}

func orWord(v, word string) string {
	if v == "" {
		return word
	}
	return v
}
