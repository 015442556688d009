package audittamper

import (
	"context"
	"fmt"
	"math"

	"github.com/caldicott/caldicott/store"
)

// Rewrite rewrites the audit chain from entry seq on as an attacker with
// database access and the source code could: it drops the append-only
// triggers, applies edit to entry seq, then recomputes the hash of that
// entry and of every later one and moves the head record, so the chain in
// the database is consistent again and VerifyAudit alone finds nothing.
// Only a head kept outside the database (the one Caldicott publishes to
// the homeserver) can tell.
func Rewrite(ctx context.Context, st *store.Store, seq int64, edit func(*store.AuditEntry)) error {
	if err := Run(ctx, st, `SELECT 1`); err != nil {
		return err
	}
	var entries []store.AuditEntry
	err := st.AuditAfter(ctx, seq-1, math.MaxInt32, func(e store.AuditEntry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return err
	}
	if len(entries) == 0 || entries[0].Seq != seq {
		return fmt.Errorf("rewrite: no audit entry %d", seq)
	}
	edit(&entries[0])
	prev := entries[0].PrevHash
	for _, e := range entries {
		e.PrevHash = prev
		if e.Hash, err = store.HashAuditEntry(e); err != nil {
			return fmt.Errorf("rewrite: %w", err)
		}
		if _, err := st.DB().Exec(ctx, `UPDATE audit_log SET ts = $2, actor = $3, room_id = $4, action = $5, reason = $6, detail = $7, prev_hash = $8, hash = $9 WHERE seq = $1`,
			e.Seq, e.Time.UnixMilli(), e.Actor, e.RoomID, e.Action, e.Reason, e.Detail, e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("rewrite entry %d: %w", e.Seq, err)
		}
		prev = e.Hash
	}
	if _, err := st.DB().Exec(ctx, `UPDATE audit_head SET hash = $1 WHERE id = 1`, prev); err != nil {
		return fmt.Errorf("rewrite head: %w", err)
	}
	return nil
}
