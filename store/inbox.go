package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// insertChunk bounds the rows of one insert, well inside SQLite's limit on
// bound parameters.
const insertChunk = 100

// InboxEvent is one event the homeserver delivered, waiting to be handled.
type InboxEvent struct {
	Seq      int64
	EventID  string
	RoomID   string
	Type     string
	JSON     []byte
	Attempts int
}

// IngestTransaction records a homeserver transaction and its events in one
// database transaction, so it is either wholly kept or not at all. It reports
// duplicate=true when txnID was seen before: the homeserver retries a
// transaction until it gets a 200, and a retry must not act twice. An event
// already in the inbox (same event ID) is not stored again — which is also
// what keeps a retry from acting twice, for a retry's events are stored all
// the same: Dendrite names a transaction after its first event's time in
// its stream and, after a failed attempt, sends the batch again with the
// events that arrived meanwhile, under the same ID (found by the failover
// benchmark: invitations and commands never acted on, after an answer lost
// to a killed or timed-out Caldicott).
func (s *Store) IngestTransaction(ctx context.Context, txnID string, events []InboxEvent) (duplicate bool, err error) {
	now := s.now().UnixMilli()
	err = s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if s.Engine() == Postgres {
			// A process frozen in the middle of an ingest (SIGSTOP, a paused
			// VM) would hold its sequence numbers uncommitted for as long as
			// it stays frozen, past the grace the leader's inbox cursor
			// waits for them (LateCommitGrace): PostgreSQL ends it instead,
			// and the homeserver retries the transaction elsewhere.
			if _, err := s.db.Exec(ctx, `SELECT set_config('idle_in_transaction_session_timeout', '`+fencedIdleLimit+`', true)`); err != nil {
				return fmt.Errorf("bound the ingest's idle time: %w", err)
			}
		}
		res, err := s.db.Exec(ctx, `INSERT INTO txn (txn_id, received_at, event_count) VALUES ($1, $2, $3) ON CONFLICT (txn_id) DO NOTHING`, txnID, now, len(events))
		if err != nil {
			return fmt.Errorf("record transaction: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("record transaction: %w", err)
		} else if n == 0 {
			duplicate = true
		}
		// One multi-row insert per chunk: a round trip per event made
		// PostgreSQL intake five times slower.
		for start := 0; start < len(events); start += insertChunk {
			chunk := events[start:min(start+insertChunk, len(events))]
			var q strings.Builder
			q.WriteString(`INSERT INTO inbox (event_id, room_id, event_type, event_json, received_at) VALUES `)
			args := make([]any, 0, len(chunk)*4+1)
			args = append(args, now)
			for i, ev := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $1)", n+1, n+2, n+3, n+4)
				args = append(args, ev.EventID, ev.RoomID, ev.Type, string(ev.JSON))
			}
			q.WriteString(` ON CONFLICT (event_id) DO NOTHING`)
			if _, err := s.db.Exec(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("store %d events: %w", len(chunk), err)
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("ingest transaction %s: %w", txnID, err)
	}
	return duplicate, nil
}

// PendingEvents returns up to limit unhandled events in arrival order.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]InboxEvent, error) {
	return s.PendingEventsAfter(ctx, 0, limit)
}

// MarkEventDone records that an event was handled, so it is never handled again.
func (s *Store) MarkEventDone(ctx context.Context, seq int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE inbox SET done_at = $1 WHERE seq = $2`, s.now().UnixMilli(), seq); err != nil {
		return fmt.Errorf("mark event %d done: %w", seq, err)
	}
	return nil
}

// RecordAttempt counts a failed attempt at handling an event.
func (s *Store) RecordAttempt(ctx context.Context, seq int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE inbox SET attempts = attempts + 1 WHERE seq = $1`, seq); err != nil {
		return fmt.Errorf("record attempt for event %d: %w", seq, err)
	}
	return nil
}

// PruneInbox deletes handled events and transaction IDs older than before (unix ms).
// Transaction IDs are kept long enough to catch any retry the homeserver makes.
func (s *Store) PruneInbox(ctx context.Context, beforeMs int64) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < $1`,
		`DELETE FROM txn WHERE received_at < $1`,
	} {
		res, err := s.db.Exec(ctx, q, beforeMs)
		if err != nil {
			return total, fmt.Errorf("prune inbox: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// KV reads a small named value; ok is false when unset.
func (s *Store) KV(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.db.QueryRow(ctx, `SELECT value FROM kv WHERE key = $1`, key).Scan(&value)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", key, err)
	}
	return value, true, nil
}

// SetKV stores a small named value.
func (s *Store) SetKV(ctx context.Context, key, value string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// PendingEventsAfter returns up to limit unhandled events with seq > after,
// in arrival order: the worker's cursor past events already handed out.
func (s *Store) PendingEventsAfter(ctx context.Context, after int64, limit int) ([]InboxEvent, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, event_id, room_id, event_type, event_json, attempts FROM inbox WHERE done_at IS NULL AND seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list pending events: %w", err)
	}
	defer rows.Close()
	var out []InboxEvent
	for rows.Next() {
		var ev InboxEvent
		var js string
		if err := rows.Scan(&ev.Seq, &ev.EventID, &ev.RoomID, &ev.Type, &js, &ev.Attempts); err != nil {
			return nil, fmt.Errorf("scan pending event: %w", err)
		}
		ev.JSON = []byte(js)
		out = append(out, ev)
	}
	return out, rows.Err()
}
