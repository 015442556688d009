package records

import (
	"context"
	"fmt"
	"time"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/bridges/epr"
	"github.com/caldicott/caldicott/policy"
)

// outage is the delivery loop's memory of the record being unreachable;
// only the loop touches it.
type outage struct {
	down  bool
	since time.Time
}

// unreachable notes a delivery that could not reach the record: the first
// failure of an outage tells the IG team how many messages wait, and the
// gauge says so until the record answers again.
// A notice that cannot be sent is logged: the next outage tries again.
func (r *Records) unreachable(ctx context.Context, postErr error) {
	r.setUnreachable(1)
	if r.outage.down {
		return
	}
	r.outage = outage{down: true, since: r.Now()}
	waiting, err := r.Store.WaitingRecords(ctx, "")
	if err != nil {
		r.Log.Warn().Err(err).Msg("Could not count the messages waiting for the patient record")
	}
	cause := postErr.Error() // the network's error: no content of the message
	if status := epr.HTTPStatus(postErr); status != 0 {
		cause = fmt.Sprintf("it answers HTTP %d", status) // its diagnostics may quote the message
	}
	ictx := executor.WithInput(ctx, "records-down:"+r.outage.since.Format(time.RFC3339Nano))
	if _, err := r.Exec.Execute(ictx, "", r.BotID.String(), policy.RecordsUnreachable(cause, len(waiting))); err != nil {
		r.Log.Warn().Err(err).Msg("Could not tell the management room that the patient record cannot be reached")
	}
}

// reachable clears an outage, once, when the record answered (accepting or
// refusing): what waits is sent at once, the IG team is told, and the
// gauge goes back to 0.
func (r *Records) reachable(ctx context.Context) {
	r.setUnreachable(0)
	if !r.outage.down {
		return
	}
	since := r.outage.since
	r.outage = outage{}
	// The others waiting go now, not each at the end of its own backoff
	// (up to deliveryBackoff.Max).
	if _, err := r.Store.RetryPendingRecords(ctx); err != nil {
		r.Log.Warn().Err(err).Msg("Could not make the messages waiting for the patient record due")
	}
	r.Wake()
	ictx := executor.WithInput(ctx, "records-up:"+since.Format(time.RFC3339Nano))
	if _, err := r.Exec.Execute(ictx, "", r.BotID.String(), policy.RecordsReachable(r.Now().Sub(since).Round(time.Second))); err != nil {
		r.Log.Warn().Err(err).Msg("Could not tell the management room that the patient record is back")
	}
}

// setUnreachable sets the gauge, when the service gave one.
func (r *Records) setUnreachable(v float64) {
	if r.Unreachable != nil {
		r.Unreachable.Set(v)
	}
}
