package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The reads below summarise a period of the audit log in the database, so
// that a page over a busy month reads a few dozen rows, not every entry.

// AuditActionCounts counts the entries in [from, to) by action.
func (s *Store) AuditActionCounts(ctx context.Context, from, to time.Time) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT action, COUNT(*) FROM audit_log WHERE ts >= $1 AND ts < $2 GROUP BY action`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("count audit entries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var action string
		var n int
		if err := rows.Scan(&action, &n); err != nil {
			return nil, fmt.Errorf("count audit entries: %w", err)
		}
		out[action] = n
	}
	return out, rows.Err()
}

// AuditLatest returns up to limit of the latest entries in [from, to)
// whose action is one of actions, newest first. Ordered by time first, so
// the database walks the time index back from the period's end and stops
// at the limit, rather than sorting the whole period.
func (s *Store) AuditLatest(ctx context.Context, from, to time.Time, actions []string, limit int) ([]AuditEntry, error) {
	if len(actions) == 0 {
		return nil, nil
	}
	args := []any{from.UnixMilli(), to.UnixMilli(), limit}
	marks := make([]string, len(actions))
	for i, a := range actions {
		args = append(args, a)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	var out []AuditEntry
	err := s.scanAudit(ctx, `SELECT seq, ts, actor, room_id, action, reason, detail, prev_hash, hash FROM audit_log
		WHERE ts >= $1 AND ts < $2 AND action IN (`+strings.Join(marks, ", ")+`) ORDER BY ts DESC, seq DESC LIMIT $3`, args, func(e AuditEntry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}
