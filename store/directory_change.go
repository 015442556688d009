package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kinds of directory change in the journal.
const (
	// ChangeAdded: a person new to the directory.
	ChangeAdded = "added"
	// ChangeStatus: active, suspended or left changed (other fields may have too).
	ChangeStatus = "status"
	// ChangeUpdated: name, role, team or registration changed, status did not.
	ChangeUpdated = "updated"
)

// DirectoryChange is one row of the directory change journal: a person whose
// directory record changed, written in the same transaction as the change.
type DirectoryChange struct {
	// Seq only grows, and a row is committed before any row numbered after
	// it, so a reader that remembers the last Seq it read misses nothing.
	Seq    int64
	UserID string
	Kind   string
	Time   time.Time
}

// ErrDirectoryChangesPruned is returned by DirectoryChangesSince when rows
// after the asked-for seq were pruned before being read: the reader must
// judge everyone and start again from LatestDirectoryChange.
var ErrDirectoryChangesPruned = errors.New("directory changes were pruned before they were read")

// prunedThroughKey names the kv row holding the highest seq pruned.
const prunedThroughKey = "directory_change_pruned_through"

// StaffChangeKind says how next changes a person's directory record: a
// ChangeX kind, or "" when nothing the directory is about changed (source
// and external ID are bookkeeping). prev is nil for someone not yet stored.
func StaffChangeKind(prev *StaffRecord, next StaffRecord) string {
	switch {
	case prev == nil:
		return ChangeAdded
	case prev.Status != next.Status:
		return ChangeStatus
	case prev.Name != next.Name || prev.Role != next.Role || prev.Team != next.Team || prev.Registration != next.Registration:
		return ChangeUpdated
	}
	return ""
}

// directoryTxn runs fn in a transaction that may write the staff table and
// the journal and, when audited, the audit log. Journalling writers queue
// behind each other from the start, so what fn reads is what it overwrites
// and seqs are committed in order: SQLite's immediate transactions already
// hold the database's write lock; on PostgreSQL fn starts by locking the
// journal (readers are not blocked).
//
// fn calls lockAudit before appending to the audit log. On SQLite the audit
// mutex is taken before the transaction instead: an AppendAudit holding it
// would be waiting for the write lock this transaction holds. On PostgreSQL
// it is taken only when needed, so a long directory write does not hold up
// other audit entries while it reads and writes staff.
func (s *Store) directoryTxn(ctx context.Context, audited bool, fn func(ctx context.Context, lockAudit func()) error) error {
	locked := false
	lockAudit := func() {
		if !locked {
			s.auditMu.Lock()
			locked = true
		}
	}
	defer func() {
		if locked {
			s.auditMu.Unlock()
		}
	}()
	if audited && s.Engine() == SQLite {
		lockAudit()
	}
	return s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if s.Engine() == Postgres {
			if _, err := s.db.Exec(ctx, `LOCK TABLE directory_change IN EXCLUSIVE MODE`); err != nil {
				return fmt.Errorf("lock the directory change journal: %w", err)
			}
		}
		return fn(ctx, lockAudit)
	})
}

// journal appends changes inside a directoryTxn, filling in Seq and Time.
func (s *Store) journal(ctx context.Context, changes []DirectoryChange) error {
	now := s.now().Truncate(time.Millisecond)
	for start := 0; start < len(changes); start += insertChunk {
		chunk := changes[start:min(start+insertChunk, len(changes))]
		var q strings.Builder
		q.WriteString(`INSERT INTO directory_change (user_id, kind, changed_at) VALUES `)
		args := []any{now.UnixMilli()}
		at := make(map[string]int, len(chunk))
		for i, c := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $1)", n+1, n+2)
			args = append(args, c.UserID, c.Kind)
			at[c.UserID] = start + i
		}
		q.WriteString(` RETURNING seq, user_id`)
		rows, err := s.db.Query(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("journal %d directory changes: %w", len(chunk), err)
		}
		for rows.Next() {
			var seq int64
			var userID string
			if err := rows.Scan(&seq, &userID); err != nil {
				rows.Close()
				return fmt.Errorf("journal directory changes: %w", err)
			}
			changes[at[userID]].Seq = seq
			changes[at[userID]].Time = now
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("journal directory changes: %w", err)
		}
	}
	return nil
}

// LatestDirectoryChange returns the seq of the newest journal row, 0 when
// there has never been one. One index lookup: cheap enough to poll.
func (s *Store) LatestDirectoryChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM directory_change`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the latest directory change: %w", err)
	}
	return seq, nil
}

// DirectoryChangesSince returns up to limit journal rows after afterSeq,
// oldest first. ErrDirectoryChangesPruned means some of them are gone.
func (s *Store) DirectoryChangesSince(ctx context.Context, afterSeq int64, limit int) ([]DirectoryChange, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, user_id, kind, changed_at FROM directory_change WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("read directory changes after %d: %w", afterSeq, err)
	}
	defer rows.Close()
	var out []DirectoryChange
	for rows.Next() {
		var c DirectoryChange
		var ms int64
		if err := rows.Scan(&c.Seq, &c.UserID, &c.Kind, &ms); err != nil {
			return nil, fmt.Errorf("read directory changes after %d: %w", afterSeq, err)
		}
		c.Time = time.UnixMilli(ms).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read directory changes after %d: %w", afterSeq, err)
	}
	// Checked after reading: a prune that committed before the read shows
	// here. One that commits after it can only make this refuse rows it did read.
	pruned, err := s.directoryPrunedThrough(ctx)
	if err != nil {
		return nil, err
	}
	if afterSeq < pruned {
		return nil, fmt.Errorf("changes after %d (through %d): %w", afterSeq, pruned, ErrDirectoryChangesPruned)
	}
	return out, nil
}

func (s *Store) directoryPrunedThrough(ctx context.Context) (int64, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM kv WHERE key = $1`, prunedThroughKey).Scan(&v)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read how far directory changes were pruned: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, dbFailure(fmt.Errorf("%s is %q, not a number", prunedThroughKey, v))
	}
	return n, nil
}

// PruneDirectoryChanges deletes journal rows written before the given time
// and returns how many went. The newest row is always kept, so
// LatestDirectoryChange still answers; rows are deleted up to the newest old
// one, so "pruned through seq N" holds for every row at or below N.
func (s *Store) PruneDirectoryChanges(ctx context.Context, before time.Time) (int64, error) {
	var deleted int64
	err := s.directoryTxn(ctx, false, func(ctx context.Context, _ func()) error {
		var through sql.NullInt64
		err := s.db.QueryRow(ctx, `SELECT MAX(seq) FROM directory_change WHERE changed_at < $1 AND seq < (SELECT MAX(seq) FROM directory_change)`, before.UnixMilli()).Scan(&through)
		if err != nil {
			return err
		}
		if !through.Valid {
			return nil
		}
		res, err := s.db.Exec(ctx, `DELETE FROM directory_change WHERE seq <= $1`, through.Int64)
		if err != nil {
			return err
		}
		deleted, _ = res.RowsAffected()
		prev, err := s.directoryPrunedThrough(ctx)
		if err != nil {
			return err
		}
		if through.Int64 <= prev {
			return nil
		}
		_, err = s.db.Exec(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, prunedThroughKey, strconv.FormatInt(through.Int64, 10))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune directory changes before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return deleted, nil
}
