package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// MediaDeletion is a file the retention sweep deleted, as the audit log
// records the executor's done delete_media action: its URI and the hash of
// its bytes (every URI with those bytes went with it).
type MediaDeletion struct {
	Seq       int64
	URI, Hash string
}

// MediaDeletionsAfter lists the files deleted in audit entries after seq,
// oldest first, at most limit: a reader keeps the last seq it saw and asks
// only for what is new (the audit log is read by its key).
func (s *Store) MediaDeletionsAfter(ctx context.Context, seq int64, limit int) ([]MediaDeletion, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, detail FROM audit_log WHERE seq > $1 AND action = 'delete_media' ORDER BY seq LIMIT $2`, seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read deleted files: %w", err)
	}
	defer rows.Close()
	var out []MediaDeletion
	for rows.Next() {
		var d MediaDeletion
		var detail string
		if err := rows.Scan(&d.Seq, &detail); err != nil {
			return nil, fmt.Errorf("read deleted files: %w", err)
		}
		var fields struct {
			Media string `json:"media"`
			Hash  string `json:"hash"`
		}
		if err := json.Unmarshal([]byte(detail), &fields); err != nil {
			return nil, dbFailure(fmt.Errorf("read deleted file of audit entry %d: %w", d.Seq, err))
		}
		d.URI, d.Hash = fields.Media, fields.Hash
		out = append(out, d)
	}
	return out, rows.Err()
}

// MediaHashOf is the recorded hash of a URI's bytes; ErrNotFound when
// none was recorded.
func (s *Store) MediaHashOf(ctx context.Context, uri string) (string, error) {
	var hash string
	err := s.db.QueryRow(ctx, `SELECT hash FROM media_hash WHERE uri = $1`, uri).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read the hash of %s: %w", uri, err)
	}
	return hash, nil
}
