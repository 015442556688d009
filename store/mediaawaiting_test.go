package store

import (
	"context"
	"testing"
	"time"
)

// A file is awaiting deletion when every indexed reference to it is a
// message the sweep deleted (its file queued for judgement), none an
// avatar, on legal hold, awaiting the patient record, or older than the
// index; on both engines.
func TestMediaAwaitingDeletion(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_700_000_000_000)
		s.SetClock(func() time.Time { return t0 })
		if got, err := s.MediaAwaitingDeletion(ctx, "mxc://a/gone"); err != nil || got {
			t.Fatalf("before the index began: %v %v", got, err)
		}
		if _, err := s.MediaIndexBegun(ctx); err != nil {
			t.Fatal(err)
		}
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		refs := []MediaRef{
			{URI: "mxc://a/gone", RoomID: "!r:a", EventID: "$1", Sent: at(1)},
			{URI: "mxc://a/gone", RoomID: "!r:a", EventID: "$2", Sent: at(2)},
			{URI: "mxc://a/half", RoomID: "!r:a", EventID: "$3", Sent: at(1)},
			{URI: "mxc://a/half", RoomID: "!r:a", EventID: "$4", Sent: at(2)},
			{URI: "mxc://a/avatar", RoomID: "!r:a", EventID: "$5", Sent: at(1)},
			{URI: "mxc://a/avatar", RoomID: "!r:a", EventID: "$av", Avatar: true, Sent: at(1)},
			{URI: "mxc://a/held", RoomID: "!held:a", EventID: "$6", Sent: at(1)},
			{URI: "mxc://a/record", RoomID: "!r:a", EventID: "$7", Sent: at(1)},
			{URI: "mxc://a/old", RoomID: "!r:a", EventID: "$8", Sent: t0.Add(-time.Hour)},
		}
		if err := s.AddMediaRefs(ctx, refs); err != nil {
			t.Fatal(err)
		}
		var cs []MediaCandidate
		for _, r := range refs {
			if r.EventID != "$4" && !r.Avatar {
				cs = append(cs, MediaCandidate{URI: r.URI, RoomID: r.RoomID, EventID: r.EventID})
			}
		}
		if err := s.AddMediaCandidates(ctx, cs); err != nil {
			t.Fatal(err)
		}
		if err := s.AddLegalHold(ctx, LegalHold{RoomID: "!held:a", Reason: "inquest", HeldBy: "@ig:a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRecord(ctx, PatientRecord{RoomID: "!r:a", EventID: "$7", CommandID: "c", RecordedBy: "@dr:a", SentAt: at(1), Payload: "{}"}); err != nil {
			t.Fatal(err)
		}
		for uri, want := range map[string]bool{
			"mxc://a/gone": true, "mxc://a/half": false, "mxc://a/avatar": false, "mxc://a/held": false,
			"mxc://a/record": false, "mxc://a/old": false, "mxc://a/unknown": false,
		} {
			if got, err := s.MediaAwaitingDeletion(ctx, uri); err != nil || got != want {
				t.Errorf("%s: awaiting deletion %v (%v), want %v", uri, got, err, want)
			}
		}
		// Judged (deleted or kept): off the queue, no longer awaiting.
		if err := s.DropMediaCandidate(ctx, "mxc://a/gone", "$1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.MediaAwaitingDeletion(ctx, "mxc://a/gone"); got {
			t.Error("a judged file is still awaiting deletion")
		}
	})
}
