package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AuditHead is the last entry of the chain: its sequence number and hash
// (0 and "" while the log is empty). It is what Caldicott publishes outside
// the database so that a rewritten chain no longer matches.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	err = s.db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read audit head: %w", err)
	}
	return seq, hash, nil
}

// AuditEntryAt returns the entry with this sequence number, or ErrNotFound.
func (s *Store) AuditEntryAt(ctx context.Context, seq int64) (AuditEntry, error) {
	var out AuditEntry
	found := false
	err := s.scanAudit(ctx, `SELECT seq, ts, actor, room_id, action, reason, detail, prev_hash, hash FROM audit_log WHERE seq = $1`, []any{seq}, func(e AuditEntry) error {
		out, found = e, true
		return nil
	})
	if err != nil {
		return AuditEntry{}, err
	}
	if !found {
		return AuditEntry{}, ErrNotFound
	}
	return out, nil
}

// AuditAfter calls fn for up to limit entries with seq > after, in order.
func (s *Store) AuditAfter(ctx context.Context, after int64, limit int, fn func(AuditEntry) error) error {
	return s.scanAudit(ctx, `SELECT seq, ts, actor, room_id, action, reason, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, []any{after, limit}, fn)
}
