package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AccessRequest is someone asking (or being proposed) to join a room.
type AccessRequest struct {
	ID          int64
	RoomID      string
	UserID      string
	RequestedBy string
	Reason      string
	ReplyRoom   string
	Status      string // pending, approved, denied
	DecidedBy   string
	Note        string
	RequestedAt time.Time
}

// Request statuses.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestDenied   = "denied"
)

// ErrDuplicate is returned when a pending request already exists.
var ErrDuplicate = errors.New("already pending")

// AddRequest records a pending request; ErrDuplicate if one is pending already.
func (s *Store) AddRequest(ctx context.Context, r AccessRequest) error {
	if _, err := s.PendingRequest(ctx, r.RoomID, r.UserID); err == nil {
		return ErrDuplicate
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO access_request (room_id, user_id, requested_by, reason, reply_room, status, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.RoomID, r.UserID, r.RequestedBy, r.Reason, r.ReplyRoom, RequestPending, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("record request of %s for %s: %w", r.UserID, r.RoomID, err)
	}
	return nil
}

// PendingRequest finds the pending request of user for room; ErrNotFound if none.
func (s *Store) PendingRequest(ctx context.Context, roomID, userID string) (AccessRequest, error) {
	var r AccessRequest
	var at int64
	err := s.db.QueryRow(ctx, `SELECT id, room_id, user_id, requested_by, reason, reply_room, status, decided_by, note, requested_at FROM access_request WHERE room_id = $1 AND user_id = $2 AND status = $3`,
		roomID, userID, RequestPending).Scan(&r.ID, &r.RoomID, &r.UserID, &r.RequestedBy, &r.Reason, &r.ReplyRoom, &r.Status, &r.DecidedBy, &r.Note, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("read request: %w", err)
	}
	r.RequestedAt = time.UnixMilli(at)
	return r, nil
}

// DecideRequest closes a pending request as approved or denied.
func (s *Store) DecideRequest(ctx context.Context, id int64, status, decidedBy, note string) error {
	res, err := s.db.Exec(ctx, `UPDATE access_request SET status = $1, decided_by = $2, note = $3, decided_at = $4 WHERE id = $5 AND status = $6`,
		status, decidedBy, note, s.now().UnixMilli(), id, RequestPending)
	if err != nil {
		return fmt.Errorf("decide request %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
