package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestCarryOverRoom: an upgraded room's rows reach its replacement in one
// go — what is about the room's future moves, what is about the old
// room's history is copied or stays — and only once, even when two
// carry-overs race.
func TestCarryOverRoom(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const old, repl = "!old:a", "!new:a"
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.SaveRoomPolicy(ctx, RoomPolicy{RoomID: old, Class: "clinical", Compliant: true, ClassifiedBy: "@admin:a"}))
		must(s.AddLegalHold(ctx, LegalHold{RoomID: old, Reason: "inquest 42", HeldBy: "@ig:a"}))
		must(s.EnsureReview(ctx, old, 90*24*time.Hour))
		must(s.AddRequest(ctx, AccessRequest{RoomID: old, UserID: "@u:a", RequestedBy: "@u:a", Reason: "covering nights"}))
		must(s.AddDowngradeRequest(ctx, DowngradeRequest{RoomID: old, ToClass: "social", RequestedBy: "@admin:a", Reason: "rotas"}))
		must(s.AddMute(ctx, "@m:a", old, 50))
		must(s.TouchActivity(ctx, old, "@u:a", time.Now()))
		if _, err := s.AddRecord(ctx, PatientRecord{RoomID: old, EventID: "$msg", CommandID: "$cmd", RecordedBy: "@admin:a", Payload: "{}"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRecord(ctx, PatientRecord{RoomID: old, EventID: "$done", CommandID: "$cmd2", RecordedBy: "@admin:a", Payload: "{}"}); err != nil {
			t.Fatal(err)
		}
		must(s.RecordAccepted(ctx, old, "$done", "Communication/1", AuditEntry{Actor: "@bot:a", RoomID: old, Action: "record.accepted", Detail: "{}"}))
		must(s.NoteRoomUpgrade(ctx, old, repl, "@admin:a"))
		if u, err := s.RoomUpgradeOf(ctx, old, repl); err != nil || u.State != UpgradeWaiting || u.UpgradedBy != "@admin:a" {
			t.Fatalf("noted upgrade = %+v %v", u, err)
		}
		if r, _ := s.ReplacedBy(ctx, old); r != "" {
			t.Fatalf("replaced before carry-over: %q", r)
		}

		// Two carry-overs at once (the tombstone and the bot's invitation
		// handled in two lanes): one does it, the other finds it done.
		var wg sync.WaitGroup
		results := make([]CarriedOver, 2)
		errs := make([]error, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.CarryOverRoom(ctx, old, repl, "@admin:a")
			}()
		}
		wg.Wait()
		must(errors.Join(errs...))
		c := results[0]
		if c.Already == results[1].Already {
			t.Fatalf("both or neither carried over: %+v %+v", results[0], results[1])
		}
		if c.Already {
			c = results[1]
		}
		if c.Class != "clinical" || !c.LegalHold || !c.Review || !c.Downgrade || c.Requests != 1 || c.Records != 1 || c.Suspensions != 1 || c.Activity != 1 {
			t.Fatalf("carried = %+v", c)
		}

		if p, err := s.RoomPolicy(ctx, repl); err != nil || p.Class != "clinical" {
			t.Errorf("new room's policy = %+v %v", p, err)
		}
		for _, room := range []string{old, repl} {
			if h, err := s.LegalHoldOf(ctx, room); err != nil || h.Reason != "inquest 42" {
				t.Errorf("hold on %s = %+v %v (the old room's history stays held too)", room, h, err)
			}
		}
		if _, err := s.ReviewOf(ctx, old); err != ErrNotFound {
			t.Errorf("old room still reviewed: %v", err)
		}
		if r, err := s.ReviewOf(ctx, repl); err != nil || r.Interval != 90*24*time.Hour {
			t.Errorf("new room's review = %+v %v", r, err)
		}
		if _, err := s.PendingRequest(ctx, repl, "@u:a"); err != nil {
			t.Errorf("request not moved: %v", err)
		}
		if _, err := s.PendingRequest(ctx, old, "@u:a"); err != ErrNotFound {
			t.Errorf("request left behind: %v", err)
		}
		if d, err := s.DowngradeRequestOf(ctx, repl); err != nil || d.ToClass != "social" {
			t.Errorf("downgrade request = %+v %v", d, err)
		}
		if _, err := s.DowngradeRequestOf(ctx, old); err != ErrNotFound {
			t.Errorf("downgrade request left behind: %v", err)
		}
		sus, err := s.Suspensions(ctx, "@m:a")
		if err != nil || len(sus) != 2 || sus[0].MutedFrom == nil || *sus[0].MutedFrom != 50 {
			t.Errorf("suspensions = %+v %v", sus, err)
		}
		if act, _ := s.Activity(ctx, repl); act["@u:a"].IsZero() {
			t.Errorf("activity not copied: %v", act)
		}
		// The waiting message stays where it was sent, so retention there
		// keeps it; the new room lists it.
		if kept, _ := s.RecordAwaited(ctx, old, "$msg"); !kept {
			t.Error("the old room's waiting message is no longer kept")
		}
		for _, room := range []string{old, repl} {
			if w, _ := s.WaitingRecords(ctx, room); len(w) != 1 || w[0].EventID != "$msg" {
				t.Errorf("waiting records of %s = %+v", room, w)
			}
		}
		if r, _ := s.ReplacedBy(ctx, old); r != repl {
			t.Errorf("ReplacedBy = %q", r)
		}

		// A second upgrade (new → newer) carries the record's news on.
		if _, err := s.CarryOverRoom(ctx, repl, "!newer:a", "@admin:a"); err != nil {
			t.Fatal(err)
		}
		if w, _ := s.WaitingRecords(ctx, "!newer:a"); len(w) != 1 {
			t.Errorf("waiting records after a second upgrade = %+v", w)
		}

		// A refused replacement is marked; it never undoes a carry-over.
		must(s.RefuseRoomUpgrade(ctx, old, "!forged:a", "@admin:a"))
		if u, _ := s.RoomUpgradeOf(ctx, old, "!forged:a"); u.State != UpgradeRefused {
			t.Errorf("refused upgrade = %+v", u)
		}
		must(s.RefuseRoomUpgrade(ctx, old, repl, "@admin:a"))
		if u, _ := s.RoomUpgradeOf(ctx, old, repl); u.State != UpgradeCarried {
			t.Errorf("carried upgrade turned into %q", u.State)
		}
	})
}
