package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// VerificationState is a member's remembered shortfall.
type VerificationState struct {
	UserID     string
	Status     string
	ShortSince time.Time
	Suspended  bool
}

// VerificationStateOf returns the remembered state; a zero state if none.
func (s *Store) VerificationStateOf(ctx context.Context, userID string) (VerificationState, error) {
	st := VerificationState{UserID: userID}
	var since int64
	err := s.db.QueryRow(ctx, `SELECT status, short_since, suspended FROM verification_state WHERE user_id = $1`, userID).Scan(&st.Status, &since, &st.Suspended)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read verification state of %s: %w", userID, err)
	}
	st.ShortSince = msTime(since)
	return st, nil
}

// SaveVerificationState remembers a shortfall; a state with a zero
// ShortSince and no suspension is deleted.
func (s *Store) SaveVerificationState(ctx context.Context, st VerificationState) error {
	var err error
	if st.ShortSince.IsZero() && !st.Suspended {
		_, err = s.db.Exec(ctx, `DELETE FROM verification_state WHERE user_id = $1`, st.UserID)
	} else {
		_, err = s.db.Exec(ctx, `INSERT INTO verification_state (user_id, status, short_since, suspended) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, short_since = excluded.short_since, suspended = excluded.suspended`,
			st.UserID, st.Status, timeMs(st.ShortSince), st.Suspended)
	}
	if err != nil {
		return fmt.Errorf("save verification state of %s: %w", st.UserID, err)
	}
	return nil
}

// SuspendedUsers lists users suspended for verification.
func (s *Store) SuspendedUsers(ctx context.Context) ([]string, error) {
	return s.queryStrings(ctx, "list suspended users", `SELECT user_id FROM verification_state WHERE suspended ORDER BY user_id`)
}

// Suspension is one room a user is suspended from: removed, or muted (then
// MutedFrom holds the power level to give back).
type Suspension struct {
	RoomID    string
	MutedFrom *int64
}

// AddSuspension records that a user was removed from a room until verified.
func (s *Store) AddSuspension(ctx context.Context, userID, roomID string) error {
	return s.addSuspension(ctx, userID, roomID, nil)
}

// AddMute records that a user was muted in a room until verified.
func (s *Store) AddMute(ctx context.Context, userID, roomID string, previousLevel int64) error {
	return s.addSuspension(ctx, userID, roomID, &previousLevel)
}

func (s *Store) addSuspension(ctx context.Context, userID, roomID string, mutedFrom *int64) error {
	_, err := s.db.Exec(ctx, `INSERT INTO suspension (user_id, room_id, since, muted_from) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, room_id) DO NOTHING`, userID, roomID, s.now().UnixMilli(), mutedFrom)
	if err != nil {
		return fmt.Errorf("record suspension of %s: %w", userID, err)
	}
	return nil
}

// Suspensions lists the rooms a user is recorded as suspended from.
func (s *Store) Suspensions(ctx context.Context, userID string) ([]Suspension, error) {
	rows, err := s.db.Query(ctx, `SELECT room_id, muted_from FROM suspension WHERE user_id = $1 ORDER BY room_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list suspensions of %s: %w", userID, err)
	}
	defer rows.Close()
	var out []Suspension
	for rows.Next() {
		var r Suspension
		var muted sql.NullInt64
		if err := rows.Scan(&r.RoomID, &muted); err != nil {
			return nil, fmt.Errorf("list suspensions of %s: %w", userID, err)
		}
		if muted.Valid {
			r.MutedFrom = &muted.Int64
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// TakeSuspensions returns and forgets the rooms a user was suspended from.
func (s *Store) TakeSuspensions(ctx context.Context, userID string) ([]Suspension, error) {
	var rooms []Suspension
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		var err error
		if rooms, err = s.Suspensions(ctx, userID); err != nil {
			return err
		}
		_, err = s.db.Exec(ctx, `DELETE FROM suspension WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("take suspensions of %s: %w", userID, err)
	}
	return rooms, nil
}
