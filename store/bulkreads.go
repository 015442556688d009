package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The reads below answer for every room or person at once, in one query
// each: the compliance page looks at a thousand rooms per view, and one
// query per room would be most of its time.

// AllRoomMemberIDs is what is known of every room's joined members: their
// user IDs, sorted, by room (without display names: RoomMembers has them,
// room by room). A room whose members were never recorded is absent.
func (s *Store) AllRoomMemberIDs(ctx context.Context) (map[string][]string, error) {
	// One row per room, its members joined by spaces (a user ID holds none):
	// a row per membership cost most of a thousand-room page in the driver.
	rows, err := s.db.Query(ctx, `SELECT room_id, string_agg(user_id, ' ') FROM room_member GROUP BY room_id`)
	if err != nil {
		return nil, fmt.Errorf("read every room's members: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var room, members string
		if err := rows.Scan(&room, &members); err != nil {
			return nil, fmt.Errorf("read every room's members: %w", err)
		}
		ids := strings.Split(members, " ")
		sort.Strings(ids)
		out[room] = ids
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

// StaffStatuses maps everyone in the staff directory to their status.
func (s *Store) StaffStatuses(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, status FROM staff`)
	if err != nil {
		return nil, fmt.Errorf("list staff statuses: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var user, status string
		if err := rows.Scan(&user, &status); err != nil {
			return nil, fmt.Errorf("list staff statuses: %w", err)
		}
		out[user] = status
	}
	return out, rows.Err()
}

// AttestedUsers lists everyone whose identity the trust confirmed.
func (s *Store) AttestedUsers(ctx context.Context) ([]string, error) {
	return s.queryStrings(ctx, "list attested users", `SELECT user_id FROM attestation`)
}

// The three reads below let a view over every room know each member's
// directory status and attestation without reading the whole directory
// and every attestation: what is the same for most people (active,
// attested) is left unread, and the few exceptions are listed.

// StaffNotActive maps everyone in the staff directory who is not active
// to their status.
func (s *Store) StaffNotActive(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id, status FROM staff WHERE status <> 'active'`)
	if err != nil {
		return nil, fmt.Errorf("list staff not active: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var user, status string
		if err := rows.Scan(&user, &status); err != nil {
			return nil, fmt.Errorf("list staff not active: %w", err)
		}
		out[user] = status
	}
	return out, rows.Err()
}

// RoomMembersNotInStaff lists every known room member the staff directory
// does not hold (other trusts' members among them).
func (s *Store) RoomMembersNotInStaff(ctx context.Context) ([]string, error) {
	return s.queryStrings(ctx, "list room members not in the directory",
		`SELECT DISTINCT user_id FROM room_member rm WHERE NOT EXISTS (SELECT 1 FROM staff s WHERE s.user_id = rm.user_id)`)
}

// RoomMembersNotAttested lists every known room member whose identity the
// trust has not confirmed.
func (s *Store) RoomMembersNotAttested(ctx context.Context) ([]string, error) {
	return s.queryStrings(ctx, "list room members not attested",
		`SELECT DISTINCT user_id FROM room_member rm WHERE NOT EXISTS (SELECT 1 FROM attestation a WHERE a.user_id = rm.user_id)`)
}
