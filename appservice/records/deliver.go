package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/bridges/epr"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// deliveryBackoff spaces attempts while the record cannot be reached: 5 s,
// doubling to 10 min.
var deliveryBackoff = retry.Backoff{Initial: 5 * time.Second, Max: 10 * time.Minute}

// The wait before a refused message is tried again (after someone fixes
// the cause: a token, a mapping, the server's validation).
const (
	refusedRetry = time.Hour
	remindEvery  = 5 * time.Second
)

// Wake makes the delivery job look at the queue now.
func (r *Records) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run delivers records as they are queued and retries those due, until
// ctx ends: a goroutine of the service.
func (r *Records) Run(ctx context.Context) {
	if !r.Enabled() {
		if waiting, err := r.Store.WaitingRecords(ctx, ""); err == nil && len(waiting) > 0 {
			r.Log.Warn().Int("records", len(waiting)).Msg("Messages marked for the patient record are waiting, but records.fhir_base_url is not set: they are kept from deletion until it is")
		}
		return
	}
	// A restart is how an operator applies a fix (a token, the server's
	// address): what the record refused is tried again at once.
	if n, err := r.Store.RetryRejectedRecords(ctx); err != nil {
		r.Log.Warn().Err(err).Msg("Could not requeue the messages the patient record refused")
	} else if n > 0 {
		r.Log.Info().Int64("records", n).Msg("Trying again the messages the patient record refused")
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastReminders time.Time
	for {
		r.DeliverDue(ctx)
		if now := r.Now(); now.Sub(lastReminders) >= remindEvery {
			r.Remind(ctx)
			lastReminders = now
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// DeliverDue sends every record that is due.
func (r *Records) DeliverDue(ctx context.Context) {
	due, err := r.Store.DueRecords(ctx, r.Now(), 50)
	if err != nil {
		r.Log.Warn().Err(err).Msg("Could not read the patient record queue")
		return
	}
	for _, rec := range due {
		if ctx.Err() != nil {
			return
		}
		if err := r.deliver(ctx, rec); err != nil {
			r.Log.Warn().Err(err).Str("event_id", rec.EventID).Msg("Could not finish a patient record delivery")
		}
	}
}

func (r *Records) deliver(ctx context.Context, row store.PatientRecord) error {
	var rec epr.Record
	if err := json.Unmarshal([]byte(row.Payload), &rec); err != nil {
		return r.Store.RecordFailed(ctx, row.RoomID, row.EventID, store.RecordRejected, "Caldicott could not read its own queued copy: "+err.Error(), r.Now().Add(refusedRetry))
	}
	comm, err := epr.Build(rec)
	if err != nil {
		return r.Store.RecordFailed(ctx, row.RoomID, row.EventID, store.RecordRejected, err.Error(), r.Now().Add(refusedRetry))
	}
	resource, postErr := r.client.Post(ctx, comm)
	room := id.RoomID(row.RoomID)
	ctx = executor.WithInput(ctx, fmt.Sprintf("record:%s:%d", row.EventID, row.Attempts))
	var rej *epr.Rejected
	switch {
	case postErr == nil:
		r.Exec.Failpoint("record:posted")
		r.reachable(ctx)
		return r.accepted(ctx, row, "Communication/"+resource)
	case errors.As(postErr, &rej):
		r.reachable(ctx) // it answered: reachable, though refusing
		reason := rej.Error()
		if err := r.Store.RecordFailed(ctx, row.RoomID, row.EventID, store.RecordRejected, reason, r.Now().Add(refusedRetry)); err != nil {
			return err
		}
		r.Log.Warn().Int("status", rej.Status).Str("event_id", row.EventID).Msg("The patient record refused a message")
		if row.State == store.RecordRejected && row.LastError == reason {
			return nil // told already
		}
		if err := r.Audit(ctx, r.BotID.String(), room, "record.refused", reason, map[string]any{"event_id": row.EventID}); err != nil {
			return err
		}
		tell, d := told(row, policy.RecordRefused(row.CommandID, reason, refusedRetry))
		_, err := r.Exec.Execute(ctx, tell, r.BotID.String(), d)
		return err
	default:
		wait := deliveryBackoff.After(int(min(row.Attempts, 30)) + 1)
		log := r.Log.Info().Dur("retry_in", wait).Str("event_id", row.EventID)
		if status := epr.HTTPStatus(postErr); status != 0 {
			log = log.Int("status", status) // not the text: the EPR's diagnostics may quote the message
		} else {
			log = log.Err(postErr) // the network's error: no content of the message
		}
		log.Msg("The patient record could not be reached; will retry")
		if err := r.Store.RecordFailed(ctx, row.RoomID, row.EventID, store.RecordPending, "the patient record could not be reached ("+postErr.Error()+")", r.Now().Add(wait)); err != nil {
			return err
		}
		r.unreachable(ctx, postErr)
		if row.Attempts > 0 || row.State != store.RecordPending {
			return nil // the room was told at the first try
		}
		tell, d := told(row, policy.RecordWaiting(row.CommandID))
		_, err := r.Exec.Execute(ctx, tell, r.BotID.String(), d)
		return err
	}
}

// accepted tells the room that the record accepted the message, then
// records the acceptance with its audit entry, and deletes the message if
// it was kept past its retention only for the record. The room is told
// first, under a name of its own (not the attempt's): a crash before the
// acceptance is recorded posts again (the EPR finds its copy), and the
// notice, planned under the same transaction ID, is not sent twice; a
// crash after it would otherwise leave the room never told.
func (r *Records) accepted(ctx context.Context, row store.PatientRecord, resource string) error {
	room := id.RoomID(row.RoomID)
	tell, news := told(row, policy.RecordAccepted(row.CommandID, resource))
	if _, err := r.Exec.Execute(executor.WithInput(ctx, "record-accepted:"+row.EventID), tell, r.BotID.String(), news); err != nil {
		return err
	}
	r.Exec.Failpoint("record:told")
	detail, err := json.Marshal(map[string]any{"event_id": row.EventID, "resource": resource})
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	audit := store.AuditEntry{Actor: r.BotID.String(), RoomID: row.RoomID, Action: "record.accepted", Reason: "the patient record accepted the message", Detail: string(detail)}
	if err := r.Store.RecordAccepted(ctx, row.RoomID, row.EventID, resource, audit); err != nil {
		return err
	}
	r.Exec.Failpoint("record:accepted")
	f, err := r.Facts.Room(ctx, room)
	if err != nil {
		return err
	}
	_, holdErr := r.Store.LegalHoldOf(ctx, row.RoomID)
	ret := policy.EffectiveRetention(f.Class, f.Retention, r.RetentionRules())
	d := policy.RecordedAndExpired(row.EventID, ret, holdErr == nil, row.SentAt, r.Now())
	_, err = r.Exec.Execute(ctx, room, r.BotID.String(), d)
	return err
}

// told is where people hear about a record, and what: a reply to the
// command in the room it was made in, or, once that room was replaced by
// an upgrade, a notice in the replacement (the message itself stays, and
// is kept, where it was sent).
func told(row store.PatientRecord, d policy.Decision) (id.RoomID, policy.Decision) {
	if row.NotifyRoom == "" || row.NotifyRoom == row.RoomID {
		return id.RoomID(row.RoomID), d
	}
	return id.RoomID(row.NotifyRoom), d.InReplacement(row.RoomID)
}
