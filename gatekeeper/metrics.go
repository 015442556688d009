package gatekeeper

import "github.com/prometheus/client_golang/prometheus"

// Metrics count what the gatekeeper refuses and when it could not read what
// it needed. Labels name endpoints and rules only: never a user, a room or
// anything from a body.
type Metrics struct {
	Refusals         *prometheus.CounterVec
	RoomStateFailure prometheus.Counter
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
	}
	reg.MustRegister(m.Refusals, m.RoomStateFailure)
	return m
}
