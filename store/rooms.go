package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// RoomPolicy is Caldicott's record of a room's class and compliance. The
// room's org.caldicott.policy state event is the source of truth; this copy
// lets status and reports answer without asking the homeserver.
type RoomPolicy struct {
	RoomID       string
	Class        string
	Compliant    bool
	Problems     []string
	ClassifiedBy string
	UpdatedAt    time.Time
}

// SaveRoomPolicy inserts or replaces a room's record.
func (s *Store) SaveRoomPolicy(ctx context.Context, p RoomPolicy) error {
	problems, err := json.Marshal(nonNil(p.Problems))
	if err != nil {
		return fmt.Errorf("encode problems: %w", err)
	}
	_, err = s.db.Exec(ctx, `
		INSERT INTO room_policy (room_id, class, compliant, problems, classified_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (room_id) DO UPDATE SET class = excluded.class, compliant = excluded.compliant,
			problems = excluded.problems, classified_by = excluded.classified_by, updated_at = excluded.updated_at`,
		p.RoomID, p.Class, p.Compliant, string(problems), p.ClassifiedBy, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save policy of %s: %w", p.RoomID, err)
	}
	return nil
}

// RoomPolicy returns a room's record or ErrNotFound.
func (s *Store) RoomPolicy(ctx context.Context, roomID string) (RoomPolicy, error) {
	row := s.db.QueryRow(ctx, `SELECT room_id, class, compliant, problems, classified_by, updated_at FROM room_policy WHERE room_id = $1`, roomID)
	p, err := scanRoomPolicy(row)
	if err == sql.ErrNoRows {
		return RoomPolicy{}, ErrNotFound
	}
	if err != nil {
		return RoomPolicy{}, fmt.Errorf("read policy of %s: %w", roomID, err)
	}
	return p, nil
}

// RoomPolicies lists every recorded room, ordered by room ID.
func (s *Store) RoomPolicies(ctx context.Context) ([]RoomPolicy, error) {
	rows, err := s.db.Query(ctx, `SELECT room_id, class, compliant, problems, classified_by, updated_at FROM room_policy ORDER BY room_id`)
	if err != nil {
		return nil, fmt.Errorf("list room policies: %w", err)
	}
	defer rows.Close()
	var out []RoomPolicy
	for rows.Next() {
		p, err := scanRoomPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("scan room policy: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanRoomPolicy(row scanner) (RoomPolicy, error) {
	var p RoomPolicy
	var problems string
	var updated int64
	if err := row.Scan(&p.RoomID, &p.Class, &p.Compliant, &problems, &p.ClassifiedBy, &updated); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(problems), &p.Problems); err != nil {
		return p, dbFailure(fmt.Errorf("decode problems: %w", err))
	}
	p.UpdatedAt = time.UnixMilli(updated)
	return p, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
