package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Hold keeps someone out of every clinical room until released.
type Hold struct {
	UserID, Reason, HeldBy string
	Since                  time.Time
}

// AddHold places or replaces a hold.
func (s *Store) AddHold(ctx context.Context, h Hold) error {
	_, err := s.db.Exec(ctx, `INSERT INTO hold (user_id, reason, held_by, since) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, held_by = excluded.held_by, since = excluded.since`,
		h.UserID, h.Reason, h.HeldBy, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("hold %s: %w", h.UserID, err)
	}
	return nil
}

// HoldOf returns a user's hold; ErrNotFound when there is none.
func (s *Store) HoldOf(ctx context.Context, userID string) (Hold, error) {
	var h Hold
	var since int64
	err := s.db.QueryRow(ctx, `SELECT user_id, reason, held_by, since FROM hold WHERE user_id = $1`, userID).Scan(&h.UserID, &h.Reason, &h.HeldBy, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("read hold of %s: %w", userID, err)
	}
	h.Since = time.UnixMilli(since)
	return h, nil
}

// ReleaseHold removes a hold; ErrNotFound when there was none.
func (s *Store) ReleaseHold(ctx context.Context, userID string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM hold WHERE user_id = $1`, userID)
	if err != nil {
		return fmt.Errorf("release hold of %s: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Holds lists every hold.
func (s *Store) Holds(ctx context.Context) ([]Hold, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, reason, held_by, since FROM hold ORDER BY since`)
	if err != nil {
		return nil, fmt.Errorf("list holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var h Hold
		var since int64
		if err := rows.Scan(&h.UserID, &h.Reason, &h.HeldBy, &since); err != nil {
			return nil, err
		}
		h.Since = time.UnixMilli(since)
		out = append(out, h)
	}
	return out, rows.Err()
}
