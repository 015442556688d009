package store

import (
	"context"
	"fmt"
	"strings"

	"go.mau.fi/util/dbutil"

	"github.com/caldicott/caldicott/internal/lookalike"
)

// The staff table keeps, beside each name, its look-alike key
// (lookalike.Key), so "is this display name someone else's?" is one indexed
// lookup (StaffNamed) however large the directory is.
func init() {
	upgradeTable.Register(8, 9, 0, "Staff name keys for look-alike checks", dbutil.TxnModeOn, func(ctx context.Context, db *dbutil.Database) error {
		for _, q := range []string{
			`ALTER TABLE staff ADD COLUMN name_key TEXT NOT NULL DEFAULT ''`,
			`CREATE INDEX staff_name_key_idx ON staff (name_key)`,
		} {
			if _, err := db.Exec(ctx, q); err != nil {
				return err
			}
		}
		return rekeyStaffNames(ctx, db)
	})
}

// rekeyStaffNames recomputes every staff name key. An upgrade that changes
// what lookalike.Key returns must call it.
func rekeyStaffNames(ctx context.Context, db *dbutil.Database) error {
	rows, err := db.Query(ctx, `SELECT user_id, name FROM staff`)
	if err != nil {
		return fmt.Errorf("read staff names: %w", err)
	}
	var keys [][2]string
	for rows.Next() {
		var userID, name string
		if err := rows.Scan(&userID, &name); err != nil {
			rows.Close()
			return err
		}
		keys = append(keys, [2]string{userID, lookalike.Key(name)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for start := 0; start < len(keys); start += insertChunk {
		chunk := keys[start:min(start+insertChunk, len(keys))]
		var q, in strings.Builder
		q.WriteString(`UPDATE staff SET name_key = CASE user_id`)
		args := make([]any, 0, 2*len(chunk))
		for i, k := range chunk {
			fmt.Fprintf(&q, " WHEN $%d THEN $%d", 2*i+1, 2*i+2)
			if i > 0 {
				in.WriteString(", ")
			}
			fmt.Fprintf(&in, "$%d", 2*i+1)
			args = append(args, k[0], k[1])
		}
		q.WriteString(" END WHERE user_id IN (" + in.String() + ")")
		if _, err := db.Exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("save staff name keys: %w", err)
		}
	}
	return nil
}
