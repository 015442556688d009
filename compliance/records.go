package compliance

import (
	"context"
	"time"

	"github.com/caldicott/caldicott/store"
)

// Record is one message on its way to the patient record: where and when,
// never what (its payload holds the patient's identifier and the text).
type Record struct {
	RoomID      string    `json:"room_id"`
	EventID     string    `json:"event_id"`
	RecordedBy  string    `json:"recorded_by"`
	RequestedAt time.Time `json:"requested_at"`
	// State is pending (waiting or being retried) or rejected.
	State     string `json:"state"`
	Attempts  int64  `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

// Records is what waits for the patient record.
type Records struct {
	// Configured is false when no patient record is set up (records.fhir_base_url).
	Configured bool     `json:"configured"`
	Waiting    int      `json:"waiting"`
	Failed     int      `json:"failed"`
	List       []Record `json:"records"`
}

// Records lists records not yet accepted, in one room ("": every room).
func (m *Model) Records(ctx context.Context, roomID string) (Records, error) {
	out := Records{Configured: m.cfg.Records.FHIRBaseURL != "", List: []Record{}}
	waiting, err := m.st.WaitingRecords(ctx, roomID)
	if err != nil {
		return out, err
	}
	for _, r := range waiting {
		rec := Record{RoomID: r.RoomID, EventID: r.EventID, RecordedBy: r.RecordedBy, RequestedAt: r.RequestedAt.UTC(),
			State: r.State, Attempts: r.Attempts, LastError: Clean(r.LastError)}
		if r.State == store.RecordRejected || r.LastError != "" {
			out.Failed++
		} else {
			out.Waiting++
		}
		out.List = append(out.List, rec)
	}
	return out, nil
}
