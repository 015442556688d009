package compliance

import (
	"context"
	"time"

	"github.com/caldicott/caldicott/store"
)

// Sweep is where one room's retention sweep stands.
type Sweep struct {
	RoomID       string    `json:"room_id"`
	LastFinished time.Time `json:"last_finished,omitzero"`
	Backlog      int64     `json:"backlog"`
	Redacted     int64     `json:"redacted"`
	Failures     int64     `json:"failures"`
	LastError    string    `json:"last_error,omitempty"`
	// Late: the last good pass is older than two sweep intervals.
	Late bool `json:"late"`
}

// Retention is the health of deletion across the trust.
type Retention struct {
	// Deleting is false when retention.delete is off: nothing is deleted.
	Deleting      bool          `json:"deleting"`
	SweepInterval time.Duration `json:"sweep_interval_ns"`
	Rooms         int           `json:"rooms_swept"`
	Failing       []Sweep       `json:"failing"`
	Behind        []Sweep       `json:"behind"`
	Late          []Sweep       `json:"late"`
	Backlog       int64         `json:"backlog"`
	Redacted      int64         `json:"redacted"`
	Holds         []LegalHold   `json:"legal_holds"`
	// Sweeps is every swept room's last pass, by room ID.
	Sweeps []Sweep `json:"sweeps"`
}

// LegalHold is a room on legal hold: nothing in it is deleted.
type LegalHold struct {
	RoomID string    `json:"room_id"`
	Reason string    `json:"reason"`
	HeldBy string    `json:"held_by"`
	Since  time.Time `json:"since"`
}

// Healthy says whether every sweep runs on time without failing.
func (r Retention) Healthy() bool {
	return r.Deleting && len(r.Failing) == 0 && len(r.Late) == 0
}

func (m *Model) sweepOf(st store.SweepState) Sweep {
	s := Sweep{RoomID: st.RoomID, LastFinished: st.LastFinished.UTC(), Backlog: st.Backlog, Redacted: st.Redacted,
		Failures: st.Failures, LastError: Clean(st.LastError)}
	every := m.cfg.Retention.SweepInterval.Duration
	s.Late = every > 0 && !st.LastFinished.IsZero() && m.Now().Sub(st.LastFinished) > 2*every
	return s
}

// Retention reads every room's sweep and every legal hold.
func (m *Model) Retention(ctx context.Context) (Retention, error) {
	states, err := m.st.SweepStates(ctx)
	if err != nil {
		return Retention{}, err
	}
	holds, err := m.st.LegalHolds(ctx)
	if err != nil {
		return Retention{}, err
	}
	return m.retentionOf(states, holds), nil
}

func (m *Model) retentionOf(states []store.SweepState, holds []store.LegalHold) Retention {
	r := Retention{Deleting: m.cfg.Retention.Deleting(), SweepInterval: m.cfg.Retention.SweepInterval.Duration,
		Failing: []Sweep{}, Behind: []Sweep{}, Late: []Sweep{}, Sweeps: make([]Sweep, 0, len(states)), Holds: make([]LegalHold, 0, len(holds))}
	for _, st := range states {
		s := m.sweepOf(st)
		r.Sweeps = append(r.Sweeps, s)
		r.Rooms++
		r.Backlog += s.Backlog
		r.Redacted += s.Redacted
		if s.Failures > 0 || s.LastError != "" {
			r.Failing = append(r.Failing, s)
		}
		if s.Backlog > 0 {
			r.Behind = append(r.Behind, s)
		}
		if s.Late {
			r.Late = append(r.Late, s)
		}
	}
	for _, h := range holds {
		r.Holds = append(r.Holds, legalHoldOf(h))
	}
	return r
}

// LegalHolds lists rooms on legal hold, oldest first.
func (m *Model) LegalHolds(ctx context.Context) ([]LegalHold, error) {
	holds, err := m.st.LegalHolds(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LegalHold, 0, len(holds))
	for _, h := range holds {
		out = append(out, legalHoldOf(h))
	}
	return out, nil
}

func legalHoldOf(h store.LegalHold) LegalHold {
	return LegalHold{RoomID: h.RoomID, Reason: Clean(h.Reason), HeldBy: h.HeldBy, Since: h.Since.UTC()}
}
