package config

import "time"

// Lease bounds: shorter than a second and a database's ordinary pause (a
// checkpoint, a failover of its own) takes the lease from a healthy leader;
// longer than a minute and a dead leader's duties wait that long.
const (
	DefaultLease = 5 * time.Second
	minLease     = time.Second
	maxLease     = time.Minute
)

// HA is running two or more Caldicotts with the same config on one
// PostgreSQL, one leading and the others on standby (docs/operations.md,
// "Two Caldicotts on one PostgreSQL"). Every process accepts and stores
// the homeserver's transactions; only the holder of the leader's lease acts.
type HA struct {
	// Lease is how long the leader's lease lasts unrenewed, by the
	// database's clock: a dead or frozen leader is replaced within about
	// Lease and a third (the standby tries every third of it). The leader
	// renews every third of it, and stops acting once a whole Lease has
	// passed since the last renewal the database confirmed.
	Lease Duration `yaml:"lease"`
}

func (h *HA) defaults() { setUnset(&h.Lease, DefaultLease) }

func (h *HA) validate(p *problems) {
	if d := h.Lease.Duration; d < minLease || d > maxLease {
		p.add("ha.lease", "%s is out of range: between %s and %s (%s is the default: a dead leader is replaced within about 7s)", d, minLease, maxLease, DefaultLease)
	}
}

// Renew is how often the leader renews its lease and a standby tries to
// take it: a third of the lease, so two renewals can fail before it lapses.
func (h HA) Renew() time.Duration { return h.Lease.Duration / 3 }
