package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestAuditChainWithTwoWriters: the appservice and the gatekeeper are two
// processes appending to one audit log, each with its own Store (so
// auditMu, which serialises one process, does not serialise them). The
// database must: starting from an empty log (no head row yet to lock) and
// appending concurrently, every append succeeds and the chain verifies.
func TestAuditChainWithTwoWriters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		writers := []*Store{open(), open()}
		const goroutines, each = 3, 10
		var wg sync.WaitGroup
		errs := make(chan error, len(writers)*goroutines*each)
		for w, s := range writers {
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						e := AuditEntry{Actor: fmt.Sprintf("writer-%d", w), Action: "gatekeeper.refused", Reason: fmt.Sprintf("%d/%d", g, i)}
						if _, err := s.AppendAudit(ctx, e); err != nil {
							errs <- err
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		want := int64(len(writers) * goroutines * each)
		for i, s := range writers {
			r, err := s.VerifyAudit(ctx)
			if err != nil || !r.OK() || r.Entries != want || r.HeadSeq != want {
				t.Fatalf("verified by writer %d: %+v, %v (want %d entries)", i, r, err, want)
			}
		}
	})
}
