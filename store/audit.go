package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
)

// AuditEntry is one decision or action. Entries are chained: each carries the
// hash of the one before, so editing or deleting any entry breaks the chain.
type AuditEntry struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	RoomID   string    `json:"room_id"`
	Action   string    `json:"action"`
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// auditLockKey names the PostgreSQL advisory lock an append holds until it
// commits: "audit" in ASCII (upgradeLockKey is another).
const auditLockKey int64 = 0x6175646974

// genesisHash is the prev_hash of the first entry.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// HashAuditEntry is an entry's hash: SHA-256 over the canonical JSON of
// every field but the hash itself. Exported so a tool (or a test playing an
// attacker who has read the source) can compute what the chain expects;
// knowing it grants nothing, since the published head is what proves the chain.
func HashAuditEntry(e AuditEntry) (string, error) {
	raw, err := json.Marshal(struct {
		Seq      int64  `json:"seq"`
		TS       int64  `json:"ts"`
		Actor    string `json:"actor"`
		RoomID   string `json:"room_id"`
		Action   string `json:"action"`
		Reason   string `json:"reason"`
		Detail   string `json:"detail"`
		PrevHash string `json:"prev_hash"`
	}{e.Seq, e.Time.UnixMilli(), e.Actor, e.RoomID, e.Action, e.Reason, e.Detail, e.PrevHash})
	if err != nil {
		return "", err
	}
	canonical, err := gomatrixserverlib.CanonicalJSON(raw)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// AppendAudit adds an entry at the end of the chain and returns it
// complete. In a fenced store (the appservice's) it is refused with
// ErrNotLeader unless this process still holds the leader's lease.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	return s.appendAudit(ctx, e, true)
}

// appendAudit is AppendAudit, checking the lease in the same transaction
// when fenced is set.
func (s *Store) appendAudit(ctx context.Context, e AuditEntry, fenced bool) (AuditEntry, error) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if !fenced {
		return s.appendAuditLocked(ctx, e)
	}
	var out AuditEntry
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		if err := s.checkLeader(ctx); err != nil {
			return fmt.Errorf("append audit entry %q: %w", e.Action, err)
		}
		var err error
		out, err = s.appendAuditLocked(ctx, e)
		return err
	})
	return out, err
}

// appendAuditLocked is AppendAudit for a caller holding auditMu. Called
// inside a transaction it joins it, so the entry commits with what it records.
func (s *Store) appendAuditLocked(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.Truncate(time.Millisecond)
	err := s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		// Another process (the gatekeeper beside the appservice) may append
		// at the same time. SQLite's write transactions already queue
		// (BEGIN IMMEDIATE); PostgreSQL's would both read an empty log's
		// missing head, with no row to lock, and both write entry 1, so an
		// append there first takes a lock for the rest of its transaction.
		if s.Engine() == Postgres {
			if _, err := s.db.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLockKey); err != nil {
				return fmt.Errorf("take the audit lock: %w", err)
			}
		}
		var seq int64
		var prev string
		err := s.db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &prev)
		if err == sql.ErrNoRows {
			seq, prev = 0, genesisHash
		} else if err != nil {
			return fmt.Errorf("read audit head: %w", err)
		}
		e.Seq, e.PrevHash = seq+1, prev
		if e.Hash, err = HashAuditEntry(e); err != nil {
			return fmt.Errorf("hash audit entry: %w", err)
		}
		if _, err := s.db.Exec(ctx, `INSERT INTO audit_log (seq, ts, actor, room_id, action, reason, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			e.Seq, e.Time.UnixMilli(), e.Actor, e.RoomID, e.Action, e.Reason, e.Detail, e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("insert audit entry: %w", err)
		}
		if _, err := s.db.Exec(ctx, `INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, e.Seq, e.Hash); err != nil {
			return fmt.Errorf("move audit head: %w", err)
		}
		return nil
	})
	if err != nil {
		return AuditEntry{}, fmt.Errorf("append audit entry %q: %w", e.Action, err)
	}
	return e, nil
}

// AuditSince calls fn for every entry at or after since, in order.
func (s *Store) AuditSince(ctx context.Context, since time.Time, fn func(AuditEntry) error) error {
	return s.scanAudit(ctx, `SELECT seq, ts, actor, room_id, action, reason, detail, prev_hash, hash FROM audit_log WHERE ts >= $1 ORDER BY seq`, []any{since.UnixMilli()}, fn)
}

// AuditForRoom returns the last limit entries about a room, newest last.
func (s *Store) AuditForRoom(ctx context.Context, roomID string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.scanAudit(ctx, `SELECT seq, ts, actor, room_id, action, reason, detail, prev_hash, hash FROM audit_log WHERE room_id = $1 ORDER BY seq DESC LIMIT $2`, []any{roomID, limit}, func(e AuditEntry) error {
		out = append([]AuditEntry{e}, out...)
		return nil
	})
	return out, err
}

func (s *Store) scanAudit(ctx context.Context, query string, args []any, fn func(AuditEntry) error) error {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		var ts int64
		if err := rows.Scan(&e.Seq, &ts, &e.Actor, &e.RoomID, &e.Action, &e.Reason, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("scan audit entry: %w", err)
		}
		e.Time = time.UnixMilli(ts).UTC()
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	Entries  int64
	HeadSeq  int64
	HeadHash string
	Problems []string
}

// OK is true when the chain is intact.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

const maxReportedProblems = 100

// VerifyAudit walks the whole chain and reports every edited, inserted or
// deleted entry it can see (up to 100 problems).
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var r AuditReport
	problem := func(format string, args ...any) {
		if len(r.Problems) < maxReportedProblems {
			r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
		}
	}
	// The head first, then the entries up to it: the running service may
	// append while this reads (an entry and the head move in one
	// transaction), and what it appends meanwhile is not a gap.
	var haveHead bool
	err := s.db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&r.HeadSeq, &r.HeadHash)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return r, fmt.Errorf("read audit head: %w", err)
	default:
		haveHead = true
	}
	expectSeq, prev := int64(1), genesisHash
	err = s.scanAudit(ctx, `SELECT seq, ts, actor, room_id, action, reason, detail, prev_hash, hash FROM audit_log WHERE seq <= $1 ORDER BY seq`, []any{r.HeadSeq}, func(e AuditEntry) error {
		r.Entries++
		if e.Seq != expectSeq {
			problem("entries %d to %d are missing (deleted)", expectSeq, e.Seq-1)
		}
		if e.PrevHash != prev {
			problem("entry %d does not follow the entry before it (an entry before it was edited, deleted or inserted)", e.Seq)
		}
		want, err := HashAuditEntry(e)
		if err != nil {
			return err
		}
		if want != e.Hash {
			problem("entry %d was edited: its content does not match its hash", e.Seq)
		}
		expectSeq, prev = e.Seq+1, e.Hash
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("verify audit log: %w", err)
	}
	if haveHead && (r.HeadSeq != expectSeq-1 || r.HeadHash != prev) {
		problem("the log ends at entry %d but entry %d was written last (entries deleted from the end, or the last entry edited)", expectSeq-1, r.HeadSeq)
	}
	// Entries past the head: the highest entry first, the head after it, so
	// an entry appended meanwhile (with its head) is never taken for one
	// slipped in at the end without moving the head.
	var last sql.NullInt64
	if err := s.db.QueryRow(ctx, `SELECT MAX(seq) FROM audit_log`).Scan(&last); err != nil {
		return r, fmt.Errorf("read the last audit entry: %w", err)
	}
	var headNow int64
	switch err := s.db.QueryRow(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&headNow); {
	case err == sql.ErrNoRows:
	case err != nil:
		return r, fmt.Errorf("read audit head: %w", err)
	}
	switch {
	case !haveHead && last.Valid:
		problem("the record of the last entry is missing")
	case last.Valid && last.Int64 > headNow:
		problem("entries after entry %d, the last one written, were added without being written (inserted)", headNow)
	}
	return r, nil
}
