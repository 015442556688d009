package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/internal/lookalike"
)

// StaffRecord is one person in the trust's staff directory as stored.
type StaffRecord struct {
	UserID       string
	Name         string
	Role         string
	Team         string
	Registration string
	Status       string
	Source       string
	ExternalID   string
}

const staffColumns = `user_id, name, role, team, registration, status, source, external_id`

// UpsertStaff writes records in one transaction: a directory update is
// applied whole or not at all.
func (s *Store) UpsertStaff(ctx context.Context, records []StaffRecord) error {
	now := s.now().UnixMilli()
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for start := 0; start < len(records); start += insertChunk {
			chunk := records[start:min(start+insertChunk, len(records))]
			var q strings.Builder
			q.WriteString(`INSERT INTO staff (` + staffColumns + `, name_key, updated_at) VALUES `)
			args := []any{now}
			for i, r := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $1)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
				args = append(args, r.UserID, r.Name, r.Role, r.Team, r.Registration, r.Status, r.Source, r.ExternalID, lookalike.Key(r.Name))
			}
			q.WriteString(` ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, role = excluded.role, team = excluded.team,
				registration = excluded.registration, status = excluded.status, source = excluded.source,
				external_id = excluded.external_id, updated_at = excluded.updated_at`)
			if _, err := s.db.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save %d staff records: %w", len(records), err)
	}
	return nil
}

// Staff looks a person up by Matrix user ID; ErrNotFound when absent.
func (s *Store) Staff(ctx context.Context, userID string) (StaffRecord, error) {
	var r StaffRecord
	err := s.db.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE user_id = $1`, userID).
		Scan(&r.UserID, &r.Name, &r.Role, &r.Team, &r.Registration, &r.Status, &r.Source, &r.ExternalID)
	if err == sql.ErrNoRows {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("look up %s in the staff directory: %w", userID, err)
	}
	return r, nil
}

// StaffCounts returns how many people the directory holds, by status.
func (s *Store) StaffCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT status, COUNT(*) FROM staff GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count staff: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// StaffWithStatus lists the user IDs of people with one of the statuses.
func (s *Store) StaffWithStatus(ctx context.Context, statuses ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, st := range statuses {
		rows, err := s.db.Query(ctx, `SELECT user_id FROM staff WHERE status = $1`, st)
		if err != nil {
			return nil, fmt.Errorf("list %s staff: %w", st, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = st
		}
		rows.Close()
	}
	return out, nil
}

// maxStaffNamed bounds StaffNamed: a warning names a few look-alikes, and a
// name shared by more people than this is not worth listing them all.
const maxStaffNamed = 10

// StaffNamed maps to their directory names the people (up to 10, by user
// ID) whose directory name looks like name: the same lookalike.Key, so
// "Dr B0b Jones" finds Bob Jones. It is empty for a name with no key.
func (s *Store) StaffNamed(ctx context.Context, name string) (map[string]string, error) {
	key := lookalike.Key(name)
	if key == "" {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT user_id, name FROM staff WHERE name_key = $1 ORDER BY user_id LIMIT $2`, key, maxStaffNamed)
	if err != nil {
		return nil, fmt.Errorf("look up staff named like %q: %w", name, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var userID, n string
		if err := rows.Scan(&userID, &n); err != nil {
			return nil, err
		}
		out[userID] = n
	}
	return out, rows.Err()
}

// SetStaffStatus changes one person's status; ErrNotFound when absent.
func (s *Store) SetStaffStatus(ctx context.Context, userID, status string) error {
	res, err := s.db.Exec(ctx, `UPDATE staff SET status = $1, updated_at = $2 WHERE user_id = $3`, status, s.now().UnixMilli(), userID)
	if err != nil {
		return fmt.Errorf("set status of %s: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// StaffBySource lists everyone who came from one source.
func (s *Store) StaffBySource(ctx context.Context, source string) ([]StaffRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT `+staffColumns+` FROM staff WHERE source = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("list %s staff: %w", source, err)
	}
	defer rows.Close()
	var out []StaffRecord
	for rows.Next() {
		var r StaffRecord
		if err := rows.Scan(&r.UserID, &r.Name, &r.Role, &r.Team, &r.Registration, &r.Status, &r.Source, &r.ExternalID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
