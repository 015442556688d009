package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Review is a clinical room's membership review schedule.
type Review struct {
	RoomID          string
	Interval        time.Duration
	NextDue         time.Time
	Started         time.Time // zero when no review is open
	Escalated       bool
	LastConfirmed   time.Time
	LastConfirmedBy string
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func timeMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// EnsureReview schedules a room's reviews if it has no schedule yet.
func (s *Store) EnsureReview(ctx context.Context, roomID string, interval time.Duration) error {
	_, err := s.db.Exec(ctx, `INSERT INTO review (room_id, interval_ms, next_due) VALUES ($1, $2, $3) ON CONFLICT (room_id) DO NOTHING`,
		roomID, interval.Milliseconds(), s.now().Add(interval).UnixMilli())
	if err != nil {
		return fmt.Errorf("schedule review of %s: %w", roomID, err)
	}
	return nil
}

// SaveReview writes a room's review state.
func (s *Store) SaveReview(ctx context.Context, r Review) error {
	_, err := s.db.Exec(ctx, `INSERT INTO review (room_id, interval_ms, next_due, started_at, escalated, last_confirmed_at, last_confirmed_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (room_id) DO UPDATE SET interval_ms = excluded.interval_ms, next_due = excluded.next_due, started_at = excluded.started_at,
			escalated = excluded.escalated, last_confirmed_at = excluded.last_confirmed_at, last_confirmed_by = excluded.last_confirmed_by`,
		r.RoomID, r.Interval.Milliseconds(), timeMs(r.NextDue), timeMs(r.Started), r.Escalated, timeMs(r.LastConfirmed), r.LastConfirmedBy)
	if err != nil {
		return fmt.Errorf("save review of %s: %w", r.RoomID, err)
	}
	return nil
}

const reviewColumns = `room_id, interval_ms, next_due, started_at, escalated, last_confirmed_at, last_confirmed_by`

func scanReview(row scanner) (Review, error) {
	var r Review
	var interval, due, started, confirmed int64
	if err := row.Scan(&r.RoomID, &interval, &due, &started, &r.Escalated, &confirmed, &r.LastConfirmedBy); err != nil {
		return r, err
	}
	r.Interval, r.NextDue, r.Started, r.LastConfirmed = time.Duration(interval)*time.Millisecond, msTime(due), msTime(started), msTime(confirmed)
	return r, nil
}

// ReviewOf returns a room's review; ErrNotFound if it has none.
func (s *Store) ReviewOf(ctx context.Context, roomID string) (Review, error) {
	r, err := scanReview(s.db.QueryRow(ctx, `SELECT `+reviewColumns+` FROM review WHERE room_id = $1`, roomID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read review of %s: %w", roomID, err)
	}
	return r, nil
}

// ActiveReviews lists reviews that are due or open: the only ones the
// schedule needs to look at.
func (s *Store) ActiveReviews(ctx context.Context, now time.Time) ([]Review, error) {
	rows, err := s.db.Query(ctx, `SELECT `+reviewColumns+` FROM review WHERE next_due <= $1 OR started_at <> 0 ORDER BY next_due`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list due reviews: %w", err)
	}
	defer rows.Close()
	var out []Review
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TouchActivity records that a user was active in a room.
func (s *Store) TouchActivity(ctx context.Context, roomID, userID string, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO member_activity (room_id, user_id, last_ts) VALUES ($1, $2, $3)
		ON CONFLICT (room_id, user_id) DO UPDATE SET last_ts = excluded.last_ts WHERE excluded.last_ts > member_activity.last_ts`,
		roomID, userID, at.UnixMilli())
	if err != nil {
		return fmt.Errorf("record activity: %w", err)
	}
	return nil
}

// Activity maps the room's users to when they were last active.
func (s *Store) Activity(ctx context.Context, roomID string) (map[string]time.Time, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, last_ts FROM member_activity WHERE room_id = $1`, roomID)
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var u string
		var ts int64
		if err := rows.Scan(&u, &ts); err != nil {
			return nil, err
		}
		out[u] = time.UnixMilli(ts)
	}
	return out, rows.Err()
}
