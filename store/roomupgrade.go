package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Room upgrade states: the bot is not in the replacement yet; everything
// was carried over to it; it was not made by upgrading the old room.
const (
	UpgradeWaiting = "waiting"
	UpgradeCarried = "carried"
	UpgradeRefused = "refused"
)

// RoomUpgrade is one room replaced by another (m.room.tombstone).
type RoomUpgrade struct {
	OldRoomID, NewRoomID string
	UpgradedBy           string
	State                string
	NotedAt, CarriedAt   time.Time
}

// NoteRoomUpgrade records that old was replaced by new, by whom; a row
// already there is kept as it is.
func (s *Store) NoteRoomUpgrade(ctx context.Context, oldRoom, newRoom, by string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO room_upgrade (old_room_id, new_room_id, upgraded_by, state, noted_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (old_room_id, new_room_id) DO NOTHING`, oldRoom, newRoom, by, UpgradeWaiting, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("note upgrade of %s to %s: %w", oldRoom, newRoom, err)
	}
	return nil
}

// RoomUpgradeOf returns the record of old's replacement by new, or ErrNotFound.
func (s *Store) RoomUpgradeOf(ctx context.Context, oldRoom, newRoom string) (RoomUpgrade, error) {
	u := RoomUpgrade{OldRoomID: oldRoom, NewRoomID: newRoom}
	var noted, carried int64
	err := s.db.QueryRow(ctx, `SELECT upgraded_by, state, noted_at, carried_at FROM room_upgrade WHERE old_room_id = $1 AND new_room_id = $2`, oldRoom, newRoom).
		Scan(&u.UpgradedBy, &u.State, &noted, &carried)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("read upgrade of %s to %s: %w", oldRoom, newRoom, err)
	}
	u.NotedAt, u.CarriedAt = msTime(noted), msTime(carried)
	return u, nil
}

// RefuseRoomUpgrade marks new as not a true replacement of old (unless
// everything was carried over already, which stands).
func (s *Store) RefuseRoomUpgrade(ctx context.Context, oldRoom, newRoom, by string) error {
	if err := s.NoteRoomUpgrade(ctx, oldRoom, newRoom, by); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `UPDATE room_upgrade SET state = $1 WHERE old_room_id = $2 AND new_room_id = $3 AND state != $4`,
		UpgradeRefused, oldRoom, newRoom, UpgradeCarried)
	if err != nil {
		return fmt.Errorf("refuse upgrade of %s to %s: %w", oldRoom, newRoom, err)
	}
	return nil
}

// ReplacedBy returns the room old was carried over to, "" when none.
func (s *Store) ReplacedBy(ctx context.Context, oldRoom string) (string, error) {
	var newRoom string
	err := s.db.QueryRow(ctx, `SELECT new_room_id FROM room_upgrade WHERE old_room_id = $1 AND state = $2 ORDER BY carried_at DESC LIMIT 1`,
		oldRoom, UpgradeCarried).Scan(&newRoom)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read replacement of %s: %w", oldRoom, err)
	}
	return newRoom, nil
}

// CarriedOver is what CarryOverRoom brought to the new room.
type CarriedOver struct {
	// Already: carried over before; nothing was done this time.
	Already bool
	// Class is the old room's recorded class ("" when it had none).
	Class string
	// LegalHold, Review and Downgrade: the old room had one.
	LegalHold, Review, Downgrade bool
	// Requests, Records, Suspensions and Activity count the rows brought.
	Requests, Records, Suspensions, Activity int64
}

// CarryOverRoom brings everything Caldicott keeps about oldRoom to newRoom,
// its replacement, in one transaction, once (a second call finds it done).
// What concerns the old room's own history stays with it as well: its legal
// hold is copied, not moved (its messages are still there and still held),
// its retention sweep goes on, and messages waiting for the patient record
// stay where they were sent (retention keeps them there), with news of them
// now told in the new room. What is about the room's future moves: the
// review schedule, pending access requests and a pending downgrade.
// Suspensions and members' activity are copied.
func (s *Store) CarryOverRoom(ctx context.Context, oldRoom, newRoom, by string) (CarriedOver, error) {
	var c CarriedOver
	now := s.now().UnixMilli()
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		c = CarriedOver{}
		if _, err := s.db.Exec(ctx, `INSERT INTO room_upgrade (old_room_id, new_room_id, upgraded_by, state, noted_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (old_room_id, new_room_id) DO NOTHING`, oldRoom, newRoom, by, UpgradeWaiting, now); err != nil {
			return err
		}
		// The claim comes first: of two carry-overs at once, the second
		// waits on this row and then finds it carried.
		res, err := s.db.Exec(ctx, `UPDATE room_upgrade SET state = $1, carried_at = $2 WHERE old_room_id = $3 AND new_room_id = $4 AND state != $1`,
			UpgradeCarried, now, oldRoom, newRoom)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			c.Already = true
			return nil
		}
		if err := s.db.QueryRow(ctx, `SELECT COALESCE(MAX(class), '') FROM room_policy WHERE room_id = $1`, oldRoom).Scan(&c.Class); err != nil {
			return err
		}
		steps := []struct {
			query string
			args  []any
			count *int64
			flag  *bool
		}{
			{query: `INSERT INTO room_policy (room_id, class, compliant, problems, classified_by, updated_at)
				SELECT $2, class, compliant, problems, classified_by, $3 FROM room_policy WHERE room_id = $1
				ON CONFLICT (room_id) DO UPDATE SET class = excluded.class, compliant = excluded.compliant,
					problems = excluded.problems, classified_by = excluded.classified_by, updated_at = excluded.updated_at`, args: []any{oldRoom, newRoom, now}},
			{query: `INSERT INTO legal_hold (room_id, reason, held_by, since)
				SELECT $2, reason, held_by, since FROM legal_hold WHERE room_id = $1
				ON CONFLICT (room_id) DO NOTHING`, args: []any{oldRoom, newRoom}, flag: &c.LegalHold},
			{query: `INSERT INTO review (room_id, interval_ms, next_due, started_at, escalated, last_confirmed_at, last_confirmed_by)
				SELECT $2, interval_ms, next_due, started_at, escalated, last_confirmed_at, last_confirmed_by FROM review WHERE room_id = $1
				ON CONFLICT (room_id) DO UPDATE SET interval_ms = excluded.interval_ms, next_due = excluded.next_due, started_at = excluded.started_at,
					escalated = excluded.escalated, last_confirmed_at = excluded.last_confirmed_at, last_confirmed_by = excluded.last_confirmed_by`, args: []any{oldRoom, newRoom}, flag: &c.Review},
			{query: `DELETE FROM review WHERE room_id = $1`, args: []any{oldRoom}},
			{query: `UPDATE access_request SET room_id = $2 WHERE room_id = $1 AND status = 'pending'
				AND user_id NOT IN (SELECT user_id FROM access_request WHERE room_id = $2 AND status = 'pending')`, args: []any{oldRoom, newRoom}, count: &c.Requests},
			{query: `INSERT INTO downgrade_request (room_id, to_class, requested_by, reason, requested_at)
				SELECT $2, to_class, requested_by, reason, requested_at FROM downgrade_request WHERE room_id = $1
				ON CONFLICT (room_id) DO NOTHING`, args: []any{oldRoom, newRoom}, flag: &c.Downgrade},
			{query: `DELETE FROM downgrade_request WHERE room_id = $1`, args: []any{oldRoom}},
			{query: `UPDATE patient_record SET notify_room = $2 WHERE state != 'accepted'
				AND ((room_id = $1 AND notify_room = '') OR notify_room = $1)`, args: []any{oldRoom, newRoom}, count: &c.Records},
			{query: `INSERT INTO suspension (user_id, room_id, since, muted_from)
				SELECT user_id, $2, since, muted_from FROM suspension WHERE room_id = $1
				ON CONFLICT (user_id, room_id) DO NOTHING`, args: []any{oldRoom, newRoom}, count: &c.Suspensions},
			{query: `INSERT INTO member_activity (room_id, user_id, last_ts)
				SELECT $2, user_id, last_ts FROM member_activity WHERE room_id = $1
				ON CONFLICT (room_id, user_id) DO NOTHING`, args: []any{oldRoom, newRoom}, count: &c.Activity},
		}
		for _, step := range steps {
			res, err := s.db.Exec(ctx, step.query, step.args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			if step.count != nil {
				*step.count = n
			}
			if step.flag != nil {
				*step.flag = n > 0
			}
		}
		return nil
	})
	if err != nil {
		return CarriedOver{}, fmt.Errorf("carry %s over to %s: %w", oldRoom, newRoom, err)
	}
	return c, nil
}
