package store

import (
	"context"
	"fmt"
)

// The reads below answer for every room or person at once, in one query
// each: the compliance page looks at a thousand rooms per view, and one
// query per room would be most of its time.

// AllRoomMembers is what is known of every room's joined members, by room.
// A room whose members were never recorded is absent; RoomMembers tells a
// known room with no members from an unknown one.
func (s *Store) AllRoomMembers(ctx context.Context) (map[string]Members, error) {
	rows, err := s.db.Query(ctx, `SELECT room_id, user_id, display_name FROM room_member`)
	if err != nil {
		return nil, fmt.Errorf("read every room's members: %w", err)
	}
	defer rows.Close()
	out := map[string]Members{}
	for rows.Next() {
		var room, user, name string
		if err := rows.Scan(&room, &user, &name); err != nil {
			return nil, fmt.Errorf("read every room's members: %w", err)
		}
		if out[room] == nil {
			out[room] = Members{}
		}
		out[room][user] = name
	}
	return out, rows.Err()
}

// RoomsOfMember lists the rooms a user is known to have joined, by room ID.
func (s *Store) RoomsOfMember(ctx context.Context, userID string) ([]string, error) {
	return s.queryStrings(ctx, "list rooms of "+userID, `SELECT room_id FROM room_member WHERE user_id = $1 ORDER BY room_id`, userID)
}

// VerificationStates lists every remembered shortfall and suspension.
func (s *Store) VerificationStates(ctx context.Context) ([]VerificationState, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, status, short_since, suspended FROM verification_state ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("list verification states: %w", err)
	}
	defer rows.Close()
	var out []VerificationState
	for rows.Next() {
		var st VerificationState
		var since int64
		if err := rows.Scan(&st.UserID, &st.Status, &since, &st.Suspended); err != nil {
			return nil, fmt.Errorf("list verification states: %w", err)
		}
		st.ShortSince = msTime(since)
		out = append(out, st)
	}
	return out, rows.Err()
}

// AllStaff lists the whole staff directory, by user ID.
func (s *Store) AllStaff(ctx context.Context) ([]StaffRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT `+staffColumns+` FROM staff ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []StaffRecord
	for rows.Next() {
		var r StaffRecord
		if err := rows.Scan(&r.UserID, &r.Name, &r.Role, &r.Team, &r.Registration, &r.Status, &r.Source, &r.ExternalID); err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
