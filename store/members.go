package store

import (
	"context"
	"fmt"
	"strings"
)

// Members is a room's joined members and their display names.
type Members map[string]string

// SaveRoomMembers replaces what is known of a room's members.
func (s *Store) SaveRoomMembers(ctx context.Context, roomID string, members Members) error {
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if _, err := s.db.Exec(ctx, `DELETE FROM room_member WHERE room_id = $1`, roomID); err != nil {
			return err
		}
		ids := make([]string, 0, len(members))
		for u := range members {
			ids = append(ids, u)
		}
		for start := 0; start < len(ids); start += insertChunk {
			chunk := ids[start:min(start+insertChunk, len(ids))]
			var q strings.Builder
			q.WriteString(`INSERT INTO room_member (room_id, user_id, display_name) VALUES `)
			args := []any{roomID}
			for i, u := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "($1, $%d, $%d)", len(args)+1, len(args)+2)
				args = append(args, u, members[u])
			}
			if _, err := s.db.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		// A room with no members left still records that it is known.
		_, err := s.db.Exec(ctx, `INSERT INTO kv (key, value) VALUES ($1, '1') ON CONFLICT (key) DO NOTHING`, "members_known:"+roomID)
		return err
	})
	if err != nil {
		return fmt.Errorf("save members of %s: %w", roomID, err)
	}
	return nil
}

// SetRoomMember records one membership change: joined with a display
// name, or gone (joined false).
func (s *Store) SetRoomMember(ctx context.Context, roomID, userID, displayName string, joined bool) error {
	var err error
	if joined {
		_, err = s.db.Exec(ctx, `INSERT INTO room_member (room_id, user_id, display_name) VALUES ($1, $2, $3) ON CONFLICT (room_id, user_id) DO UPDATE SET display_name = excluded.display_name`, roomID, userID, displayName)
	} else {
		_, err = s.db.Exec(ctx, `DELETE FROM room_member WHERE room_id = $1 AND user_id = $2`, roomID, userID)
	}
	if err != nil {
		return fmt.Errorf("record member %s of %s: %w", userID, roomID, err)
	}
	return nil
}

// RoomMembers is what was last known of a room's members; known is false
// when the room's members were never recorded.
func (s *Store) RoomMembers(ctx context.Context, roomID string) (members Members, known bool, err error) {
	if _, known, err = s.KV(ctx, "members_known:"+roomID); err != nil || !known {
		return nil, false, err
	}
	rows, err := s.db.Query(ctx, `SELECT user_id, display_name FROM room_member WHERE room_id = $1`, roomID)
	if err != nil {
		return nil, false, fmt.Errorf("read members of %s: %w", roomID, err)
	}
	defer rows.Close()
	members = Members{}
	for rows.Next() {
		var u, name string
		if err := rows.Scan(&u, &name); err != nil {
			return nil, false, err
		}
		members[u] = name
	}
	return members, true, rows.Err()
}
