package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SweepState is where a room's retention sweep stands.
type SweepState struct {
	RoomID string
	// Cursor is the /messages token of the page the last pass stopped on;
	// empty means the start of the room's history.
	Cursor       string
	LastStarted  time.Time
	LastFinished time.Time
	// OldestKept is the send time of the oldest message the last pass left
	// in place (zero: none found).
	OldestKept time.Time
	// Backlog is how many expired events the last pass left for the next.
	Backlog int64
	// Redacted counts every redaction the sweep made in the room.
	Redacted int64
	// LastError is the last pass's failure, empty after a good pass;
	// Failures counts passes in a row that failed.
	LastError string
	Failures  int64
	// Alerted is what the management room was last told about this room
	// ("failing", "behind"), so it is told once per problem.
	Alerted string
}

const sweepColumns = `room_id, cursor, last_started, last_finished, oldest_kept, backlog, redacted, last_error, failures, alerted`

// SweepStateOf returns a room's sweep state; a room never swept has the
// zero state (and its ID).
func (s *Store) SweepStateOf(ctx context.Context, roomID string) (SweepState, error) {
	st, err := scanSweep(s.db.QueryRow(ctx, `SELECT `+sweepColumns+` FROM retention_sweep WHERE room_id = $1`, roomID))
	if errors.Is(err, sql.ErrNoRows) {
		return SweepState{RoomID: roomID}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read retention sweep of %s: %w", roomID, err)
	}
	return st, nil
}

// SweepStates returns every room's sweep state.
func (s *Store) SweepStates(ctx context.Context) ([]SweepState, error) {
	rows, err := s.db.Query(ctx, `SELECT `+sweepColumns+` FROM retention_sweep ORDER BY room_id`)
	if err != nil {
		return nil, fmt.Errorf("read retention sweeps: %w", err)
	}
	defer rows.Close()
	var out []SweepState
	for rows.Next() {
		st, err := scanSweep(rows)
		if err != nil {
			return nil, fmt.Errorf("read retention sweeps: %w", err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func scanSweep(row scanner) (SweepState, error) {
	var st SweepState
	var started, finished, oldest int64
	err := row.Scan(&st.RoomID, &st.Cursor, &started, &finished, &oldest, &st.Backlog, &st.Redacted, &st.LastError, &st.Failures, &st.Alerted)
	st.LastStarted, st.LastFinished = msTime(started), msTime(finished)
	st.OldestKept = msTime(oldest)
	return st, err
}

// SaveSweepState writes a room's sweep state whole.
func (s *Store) SaveSweepState(ctx context.Context, st SweepState) error {
	_, err := s.db.Exec(ctx, `INSERT INTO retention_sweep (`+sweepColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (room_id) DO UPDATE SET cursor = excluded.cursor, last_started = excluded.last_started,
			last_finished = excluded.last_finished, oldest_kept = excluded.oldest_kept, backlog = excluded.backlog,
			redacted = excluded.redacted, last_error = excluded.last_error, failures = excluded.failures, alerted = excluded.alerted`,
		st.RoomID, st.Cursor, timeMs(st.LastStarted), timeMs(st.LastFinished), timeMs(st.OldestKept),
		st.Backlog, st.Redacted, st.LastError, st.Failures, st.Alerted)
	if err != nil {
		return fmt.Errorf("save retention sweep of %s: %w", st.RoomID, err)
	}
	return nil
}

// LegalHold stops deletion in a room.
type LegalHold struct {
	RoomID, Reason, HeldBy string
	Since                  time.Time
}

// AddLegalHold places a hold on a room (or replaces its reason).
func (s *Store) AddLegalHold(ctx context.Context, h LegalHold) error {
	_, err := s.db.Exec(ctx, `INSERT INTO legal_hold (room_id, reason, held_by, since) VALUES ($1, $2, $3, $4)
		ON CONFLICT (room_id) DO UPDATE SET reason = excluded.reason, held_by = excluded.held_by, since = excluded.since`,
		h.RoomID, h.Reason, h.HeldBy, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("place legal hold on %s: %w", h.RoomID, err)
	}
	return nil
}

// LegalHoldOf returns a room's hold; ErrNotFound when there is none.
func (s *Store) LegalHoldOf(ctx context.Context, roomID string) (LegalHold, error) {
	h := LegalHold{RoomID: roomID}
	var since int64
	err := s.db.QueryRow(ctx, `SELECT reason, held_by, since FROM legal_hold WHERE room_id = $1`, roomID).Scan(&h.Reason, &h.HeldBy, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("read legal hold of %s: %w", roomID, err)
	}
	h.Since = time.UnixMilli(since)
	return h, nil
}

// LiftLegalHold removes a room's hold; ErrNotFound when there was none.
func (s *Store) LiftLegalHold(ctx context.Context, roomID string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM legal_hold WHERE room_id = $1`, roomID)
	if err != nil {
		return fmt.Errorf("lift legal hold on %s: %w", roomID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// LegalHolds lists every room on hold, oldest first.
func (s *Store) LegalHolds(ctx context.Context) ([]LegalHold, error) {
	rows, err := s.db.Query(ctx, `SELECT room_id, reason, held_by, since FROM legal_hold ORDER BY since, room_id`)
	if err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	defer rows.Close()
	var out []LegalHold
	for rows.Next() {
		var h LegalHold
		var since int64
		if err := rows.Scan(&h.RoomID, &h.Reason, &h.HeldBy, &since); err != nil {
			return nil, fmt.Errorf("list legal holds: %w", err)
		}
		h.Since = time.UnixMilli(since)
		out = append(out, h)
	}
	return out, rows.Err()
}
