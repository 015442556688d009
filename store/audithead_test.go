package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/store"
)

// The head, one entry, and the entries after a point are read as they are
// in the chain; an attacker's consistent rewrite (audittamper.Rewrite)
// leaves VerifyAudit satisfied but changes the hash of every entry from
// the one edited, which is what the published head catches.
func TestAuditHeadReadsAndConsistentRewrite(t *testing.T) {
	store.WithAllEngines(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if seq, hash, err := s.AuditHead(ctx); err != nil || seq != 0 || hash != "" {
			t.Fatalf("empty log head: %d %q %v", seq, hash, err)
		}
		store.AppendN(t, s, 5)
		seq, hash, err := s.AuditHead(ctx)
		if err != nil || seq != 5 {
			t.Fatalf("head: %d %v", seq, err)
		}
		e, err := s.AuditEntryAt(ctx, 5)
		if err != nil || e.Hash != hash {
			t.Fatalf("entry 5: %+v %v", e, err)
		}
		if _, err := s.AuditEntryAt(ctx, 6); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("entry 6: %v", err)
		}
		var after []int64
		if err := s.AuditAfter(ctx, 2, 2, func(e store.AuditEntry) error { after = append(after, e.Seq); return nil }); err != nil || len(after) != 2 || after[0] != 3 || after[1] != 4 {
			t.Fatalf("after 2, limit 2: %v %v", after, err)
		}
		before3, _ := s.AuditEntryAt(ctx, 3)
		if err := audittamper.Rewrite(ctx, s, 2, func(e *store.AuditEntry) { e.Reason = "rewritten" }); err != nil {
			t.Fatal(err)
		}
		if r, err := s.VerifyAudit(ctx); err != nil || !r.OK() {
			t.Fatalf("a consistent rewrite must pass the chain check: %+v %v", r, err)
		}
		now3, _ := s.AuditEntryAt(ctx, 3)
		_, newHash, _ := s.AuditHead(ctx)
		if now3.Hash == before3.Hash || newHash == hash {
			t.Error("the rewrite left later hashes unchanged")
		}
	})
}
