package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The media index on both engines: references kept once each, URIs
// grouped by the hash of their bytes, and the URIs whose bytes are still
// to be hashed found by server and time.
func TestMediaIndex(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_700_000_000_000)
		s.SetClock(func() time.Time { return t0 })
		begun, err := s.MediaIndexBegun(ctx)
		if err != nil || !begun.Equal(t0) {
			t.Fatalf("index begun %v (%v), want %v", begun, err, t0)
		}
		s.SetClock(func() time.Time { return t0.Add(time.Hour) })
		if again, _ := s.MediaIndexBegun(ctx); !again.Equal(t0) {
			t.Fatalf("the index's start moved to %v", again)
		}
		refs := []MediaRef{
			{URI: "mxc://a.example/x", RoomID: "!held:a", EventID: "$1", Sent: t0.Add(time.Minute)},
			{URI: "mxc://a.example/x", RoomID: "!social:a", EventID: "$2", Sent: t0.Add(2 * time.Minute)},
			{URI: "mxc://a.example/y", RoomID: "!social:a", EventID: "$av", Avatar: true, Sent: t0.Add(3 * time.Minute)},
			{URI: "mxc://b.example/z", RoomID: "!social:a", EventID: "$3", Sent: t0.Add(4 * time.Minute)},
		}
		if err := s.AddMediaRefs(ctx, refs); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMediaRefs(ctx, refs[:1]); err != nil { // seen again (a sweep reading history)
			t.Fatal(err)
		}
		got, err := s.MediaRefsOf(ctx, []string{"mxc://a.example/x", "mxc://a.example/y"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(refs[:3]) {
			t.Fatalf("references %v, want %v", got, refs[:3])
		}
		unhashed, err := s.UnhashedMedia(ctx, "mxc://a.example/", t0.Add(90*time.Second), 10)
		if err != nil || fmt.Sprint(unhashed) != "[mxc://a.example/x mxc://a.example/y]" {
			t.Fatalf("unhashed %v (%v)", unhashed, err)
		}
		if err := s.SetMediaHash(ctx, "mxc://a.example/x", "H"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMediaHash(ctx, "mxc://a.example/y", "H"); err != nil {
			t.Fatal(err)
		}
		same, err := s.MediaWithHash(ctx, "H")
		if err != nil || fmt.Sprint(same) != "[mxc://a.example/x mxc://a.example/y]" {
			t.Fatalf("same bytes %v (%v)", same, err)
		}
		if unhashed, _ := s.UnhashedMedia(ctx, "mxc://a.example/", t0, 10); len(unhashed) != 0 {
			t.Fatalf("still unhashed: %v", unhashed)
		}
		if late, _ := s.UnhashedMedia(ctx, "mxc://b.example/", t0.Add(5*time.Minute), 10); len(late) != 0 {
			t.Fatalf("a URI last pointed at before since: %v", late)
		}
		// Files queued for judgement come back once due, oldest first, until dropped.
		s.SetClock(func() time.Time { return t0.Add(2 * time.Hour) })
		if err := s.AddMediaCandidates(ctx, []MediaCandidate{{URI: "mxc://a.example/x", RoomID: "!social:a", EventID: "$2"}}); err != nil {
			t.Fatal(err)
		}
		s.SetClock(func() time.Time { return t0.Add(3 * time.Hour) })
		if err := s.AddMediaCandidates(ctx, []MediaCandidate{{URI: "mxc://a.example/y", RoomID: "!social:a", EventID: "$4"}, {URI: "mxc://a.example/x", RoomID: "!social:a", EventID: "$2"}}); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueMediaCandidates(ctx, t0.Add(150*time.Minute), 10)
		if err != nil || len(due) != 1 || due[0].EventID != "$2" || !due[0].Noted.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("due %+v (%v)", due, err)
		}
		if err := s.DropMediaCandidate(ctx, "mxc://a.example/x", "$2"); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.DueMediaCandidates(ctx, t0.Add(4*time.Hour), 10); len(due) != 1 || due[0].EventID != "$4" {
			t.Fatalf("due after drop %+v", due)
		}
		// Files wait while the intake is behind: an event received and not handled.
		if _, err := s.IngestTransaction(ctx, "t1", []InboxEvent{{EventID: "$new", RoomID: "!held:a", Type: "m.room.message", JSON: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.IntakeCaughtUp(ctx, t0.Add(3*time.Hour)); err != nil || !ok {
			t.Fatalf("caught up before the event arrived: %v %v", ok, err)
		}
		if ok, _ := s.IntakeCaughtUp(ctx, t0.Add(4*time.Hour)); ok {
			t.Fatal("an unhandled event did not count")
		}
		pending, _ := s.PendingEvents(ctx, 1)
		if len(pending) != 1 || s.MarkEventDone(ctx, pending[0].Seq) != nil {
			t.Fatalf("pending %v", pending)
		}
		if ok, _ := s.IntakeCaughtUp(ctx, t0.Add(4*time.Hour)); !ok {
			t.Fatal("a handled event still counts")
		}
	})
}
