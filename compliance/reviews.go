package compliance

import (
	"context"
	"time"
)

// Review is a clinical room's membership review that is due or open.
type Review struct {
	RoomID string    `json:"room_id"`
	Due    time.Time `json:"due"`
	// Started is when it was put to the room's admins (zero: not yet).
	Started   time.Time `json:"started,omitzero"`
	Escalated bool      `json:"escalated"`
	// DaysOverdue counts whole days since it was due.
	DaysOverdue   int       `json:"days_overdue"`
	LastConfirmed time.Time `json:"last_confirmed,omitzero"`
}

// Reviews lists reviews due or open, the most overdue first.
func (m *Model) Reviews(ctx context.Context) ([]Review, error) {
	now := m.Now()
	active, err := m.st.ActiveReviews(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]Review, 0, len(active))
	for _, r := range active {
		out = append(out, Review{RoomID: r.RoomID, Due: r.NextDue.UTC(), Started: r.Started.UTC(), Escalated: r.Escalated,
			DaysOverdue: max(0, int(now.Sub(r.NextDue)/(24*time.Hour))), LastConfirmed: r.LastConfirmed.UTC()})
	}
	return out, nil
}
