package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Record states: waiting to be sent (or retried), accepted by the patient
// record, or refused by it (kept, and tried again after a fix).
const (
	RecordPending  = "pending"
	RecordAccepted = "accepted"
	RecordRejected = "rejected"
)

// PatientRecord is one message on its way to the patient record.
type PatientRecord struct {
	RoomID, EventID string
	// CommandID is the `!policy record` command's event, replied to when
	// the record accepts or refuses.
	CommandID   string
	RecordedBy  string
	RequestedAt time.Time
	// SentAt is when the original message was sent (for the reminder
	// before it would expire).
	SentAt      time.Time
	State       string
	Payload     string
	Attempts    int64
	NextAttempt time.Time
	LastError   string
	ResourceID  string
	AcceptedAt  time.Time
	Reminded    bool
	// NotifyRoom is where people now hear about the record when the room
	// it was sent in has been replaced ("" : that room itself).
	NotifyRoom string
}

const recordColumns = `room_id, event_id, command_id, recorded_by, requested_at, sent_at, state, payload, attempts, next_attempt, last_error, resource_id, accepted_at, reminded, notify_room`

func scanRecord(row scanner) (PatientRecord, error) {
	var r PatientRecord
	var requested, sent, next, accepted, reminded int64
	err := row.Scan(&r.RoomID, &r.EventID, &r.CommandID, &r.RecordedBy, &requested, &sent, &r.State, &r.Payload, &r.Attempts, &next, &r.LastError, &r.ResourceID, &accepted, &reminded, &r.NotifyRoom)
	r.RequestedAt, r.SentAt, r.NextAttempt, r.AcceptedAt = msTime(requested), msTime(sent), msTime(next), msTime(accepted)
	r.Reminded = reminded != 0
	return r, err
}

// ErrAlreadyRecorded: the message was sent to the record before.
var ErrAlreadyRecorded = errors.New("already sent to the patient record")

// AddRecord queues a message for the patient record; ErrAlreadyRecorded
// (with the existing row) when it is queued or recorded already.
func (s *Store) AddRecord(ctx context.Context, r PatientRecord) (PatientRecord, error) {
	return s.addRecord(ctx, r, nil)
}

// AddRecordWithAudit is AddRecord that appends audit in the same
// transaction when the message is queued: a crash leaves both or neither,
// so handling the request again after a crash audits it once.
func (s *Store) AddRecordWithAudit(ctx context.Context, r PatientRecord, audit AuditEntry) (PatientRecord, error) {
	return s.addRecord(ctx, r, &audit)
}

func (s *Store) addRecord(ctx context.Context, r PatientRecord, audit *AuditEntry) (PatientRecord, error) {
	added := false
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if audit != nil {
			if err := s.checkLeader(ctx); err != nil {
				return err
			}
		}
		res, err := s.db.Exec(ctx, `INSERT INTO patient_record (`+recordColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, '', '', 0, 0, '')
			ON CONFLICT (room_id, event_id) DO NOTHING`,
			r.RoomID, r.EventID, r.CommandID, r.RecordedBy, s.now().UnixMilli(), timeMs(r.SentAt), RecordPending, r.Payload, s.now().UnixMilli())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		added = true
		if audit != nil {
			_, err = s.appendAudit(ctx, *audit, false) // the lease is checked above
		}
		return err
	})
	if err != nil {
		return r, fmt.Errorf("queue record of %s: %w", r.EventID, err)
	}
	row, err := s.RecordOf(ctx, r.RoomID, r.EventID)
	if err == nil && !added {
		err = ErrAlreadyRecorded
	}
	return row, err
}

// RecordOf returns one record; ErrNotFound when the message was never sent.
func (s *Store) RecordOf(ctx context.Context, roomID, eventID string) (PatientRecord, error) {
	r, err := scanRecord(s.db.QueryRow(ctx, `SELECT `+recordColumns+` FROM patient_record WHERE room_id = $1 AND event_id = $2`, roomID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read record of %s: %w", eventID, err)
	}
	return r, nil
}

// DueRecords lists records to send now: pending or refused, due by now.
func (s *Store) DueRecords(ctx context.Context, now time.Time, limit int) ([]PatientRecord, error) {
	return s.queryRecords(ctx, `SELECT `+recordColumns+` FROM patient_record WHERE state != $1 AND next_attempt <= $2 ORDER BY next_attempt LIMIT $3`, RecordAccepted, now.UnixMilli(), limit)
}

// WaitingRecords lists a room's records not yet accepted ("" : every room),
// with those of the rooms it replaced (see CarryOverRoom).
func (s *Store) WaitingRecords(ctx context.Context, roomID string) ([]PatientRecord, error) {
	if roomID == "" {
		return s.queryRecords(ctx, `SELECT `+recordColumns+` FROM patient_record WHERE state != $1 ORDER BY requested_at`, RecordAccepted)
	}
	return s.queryRecords(ctx, `SELECT `+recordColumns+` FROM patient_record WHERE state != $1 AND (room_id = $2 OR notify_room = $2) ORDER BY requested_at`, RecordAccepted, roomID)
}

func (s *Store) queryRecords(ctx context.Context, query string, args ...any) ([]PatientRecord, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	var out []PatientRecord
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("read records: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecordAwaited reports whether a message is waiting for the patient
// record (so retention keeps it).
func (s *Store) RecordAwaited(ctx context.Context, roomID, eventID string) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM patient_record WHERE room_id = $1 AND event_id = $2 AND state != $3`, roomID, eventID, RecordAccepted).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read record of %s: %w", eventID, err)
	}
	return n > 0, nil
}

// RecordAccepted marks a record accepted, drops its payload (the patient
// data now lives in the record, not here) and appends audit, in one
// transaction: a crash leaves both or neither.
func (s *Store) RecordAccepted(ctx context.Context, roomID, eventID, resourceID string, audit AuditEntry) error {
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if err := s.checkLeader(ctx); err != nil {
			return err
		}
		if _, err := s.db.Exec(ctx, `UPDATE patient_record SET state = $1, payload = '', resource_id = $2, accepted_at = $3, last_error = '', attempts = attempts + 1 WHERE room_id = $4 AND event_id = $5`,
			RecordAccepted, resourceID, s.now().UnixMilli(), roomID, eventID); err != nil {
			return err
		}
		_, err := s.appendAudit(ctx, audit, false) // the lease is checked above
		return err
	})
	if err != nil {
		return fmt.Errorf("mark record of %s accepted: %w", eventID, err)
	}
	return nil
}

// RecordFailed notes a failed attempt and when to try again; state is
// RecordPending (the record could not be reached) or RecordRejected.
func (s *Store) RecordFailed(ctx context.Context, roomID, eventID, state, why string, next time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE patient_record SET state = $1, last_error = $2, next_attempt = $3, attempts = attempts + 1 WHERE room_id = $4 AND event_id = $5`,
		state, why, next.UnixMilli(), roomID, eventID)
	if err != nil {
		return fmt.Errorf("note failed record of %s: %w", eventID, err)
	}
	return nil
}

// RecordReminded notes that the room was reminded the message would expire.
func (s *Store) RecordReminded(ctx context.Context, roomID, eventID string) error {
	_, err := s.db.Exec(ctx, `UPDATE patient_record SET reminded = 1 WHERE room_id = $1 AND event_id = $2`, roomID, eventID)
	if err != nil {
		return fmt.Errorf("note reminder for %s: %w", eventID, err)
	}
	return nil
}

// RetryRejectedRecords makes every refused record due now (after a fix).
func (s *Store) RetryRejectedRecords(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `UPDATE patient_record SET next_attempt = 0 WHERE state = $1`, RecordRejected)
	if err != nil {
		return 0, fmt.Errorf("retry refused records: %w", err)
	}
	return res.RowsAffected()
}

// RetryPendingRecords makes every record waiting for the record to be
// reached due now: when the record answers again after an outage, what
// waits goes at once rather than each on its own backoff.
func (s *Store) RetryPendingRecords(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `UPDATE patient_record SET next_attempt = 0 WHERE state = $1`, RecordPending)
	if err != nil {
		return 0, fmt.Errorf("retry waiting records: %w", err)
	}
	return res.RowsAffected()
}
