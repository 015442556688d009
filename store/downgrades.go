package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DowngradeRequest is a wish to move a clinical room to another class,
// waiting for an IG admin.
type DowngradeRequest struct {
	RoomID, ToClass, RequestedBy, Reason string
	At                                   time.Time
}

// AddDowngradeRequest records a request, replacing an earlier one for the room.
func (s *Store) AddDowngradeRequest(ctx context.Context, r DowngradeRequest) error {
	_, err := s.db.Exec(ctx, `INSERT INTO downgrade_request (room_id, to_class, requested_by, reason, requested_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (room_id) DO UPDATE SET to_class = excluded.to_class, requested_by = excluded.requested_by, reason = excluded.reason, requested_at = excluded.requested_at`,
		r.RoomID, r.ToClass, r.RequestedBy, r.Reason, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("record downgrade request for %s: %w", r.RoomID, err)
	}
	return nil
}

// DowngradeRequestOf returns a room's waiting request; ErrNotFound when none.
func (s *Store) DowngradeRequestOf(ctx context.Context, roomID string) (DowngradeRequest, error) {
	r := DowngradeRequest{RoomID: roomID}
	var at int64
	err := s.db.QueryRow(ctx, `SELECT to_class, requested_by, reason, requested_at FROM downgrade_request WHERE room_id = $1`, roomID).Scan(&r.ToClass, &r.RequestedBy, &r.Reason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read downgrade request for %s: %w", roomID, err)
	}
	r.At = time.UnixMilli(at)
	return r, nil
}

// CloseDowngradeRequest removes a room's request (confirmed or refused).
func (s *Store) CloseDowngradeRequest(ctx context.Context, roomID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM downgrade_request WHERE room_id = $1`, roomID); err != nil {
		return fmt.Errorf("close downgrade request for %s: %w", roomID, err)
	}
	return nil
}
