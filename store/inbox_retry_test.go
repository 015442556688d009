package store

import (
	"context"
	"testing"
)

// A transaction retried under the same ID with more events (Dendrite
// sends the batch again with what arrived meanwhile, named after its
// first event) keeps the new ones; what was stored before is not stored
// again, handled or not.
func TestRetriedTransactionKeepsItsNewEvents(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ev := func(id string) InboxEvent {
			return InboxEvent{EventID: id, RoomID: "!r:x", Type: "m.room.member", JSON: []byte(`{}`)}
		}
		if dup, err := s.IngestTransaction(ctx, "txn1", []InboxEvent{ev("$a"), ev("$b")}); err != nil || dup {
			t.Fatalf("first ingest: dup=%v err=%v", dup, err)
		}
		pending, err := s.PendingEvents(ctx, 10)
		if err != nil || len(pending) != 2 {
			t.Fatalf("pending after the first ingest: %d, %v", len(pending), err)
		}
		if err := s.MarkEventDone(ctx, pending[0].Seq); err != nil {
			t.Fatal(err)
		}
		dup, err := s.IngestTransaction(ctx, "txn1", []InboxEvent{ev("$a"), ev("$b"), ev("$c")})
		if err != nil || !dup {
			t.Fatalf("the retry: dup=%v err=%v; want a duplicate", dup, err)
		}
		pending, err = s.PendingEvents(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(pending); got != "$b,$c" {
			t.Fatalf("pending = %s, want $b,$c: the retry's new event kept, none stored twice", got)
		}
	})
}
