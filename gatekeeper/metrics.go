package gatekeeper

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the gatekeeper refuses and when it could not read what
// it needed. Labels name endpoints and rules only: never a user, a room or
// anything from a body.
type Metrics struct {
	Refusals         *prometheus.CounterVec
	RoomStateFailure prometheus.Counter
	// FailState is 1 for the state the gatekeeper is in (StateOK…), 0 for
	// the others; ViewAge is the federation view's age in seconds (NaN:
	// none read). AuditFailures counts refusals the store did not record.
	FailState     *prometheus.GaugeVec
	ViewAge       prometheus.Gauge
	AuditFailures prometheus.Counter
	// Outbound counts the forward proxy's tunnels by destination and
	// outcome (passed, refused, unreachable).
	Outbound *prometheus.CounterVec
}

// NewMetrics registers the gatekeeper's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caldicott_gatekeeper_refusals_total",
			Help: "Requests the gatekeeper refused before Dendrite saw them, by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		RoomStateFailure: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_gatekeeper_room_state_failures_total",
			Help: "Reads from Dendrite (a room's class, a client's credentials) that failed; decisions needing them fail closed.",
		}),
		FailState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "caldicott_gatekeeper_fail_state",
			Help: "1 for the state the gatekeeper is in: ok, list_missing, list_stale (federation requests from trusts added at run time refused) or store_unavailable.",
		}, []string{"state"}),
		ViewAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "caldicott_gatekeeper_federation_view_age_seconds",
			Help: "Age of the federation view the appservice last wrote (NaN: none read); past gatekeeper.max_list_age it is not trusted.",
		}),
		AuditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "caldicott_gatekeeper_audit_failures_total",
			Help: "Refusals the store could not record in the audit log (the refusal stands).",
		}),
		Outbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "caldicott_gatekeeper_outbound_tunnels_total",
			Help: "Connections Dendrite asked the forward proxy for, by destination server (host:port; past 1000 destinations, other) and outcome: passed, refused, unreachable.",
		}, []string{"destination", "outcome"}),
	}
	m.ViewAge.Set(math.NaN())
	reg.MustRegister(m.Refusals, m.RoomStateFailure, m.FailState, m.ViewAge, m.AuditFailures, m.Outbound)
	return m
}
