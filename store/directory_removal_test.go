package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestRemovalCheckSerialisesWriters: the mass-removal guard's check runs
// inside the write's transaction, so concurrent single-person removals from
// two processes (two Stores on one database) are counted one after another:
// a limit of 3 lets exactly 3 of 12 through, on both engines.
func TestRemovalCheckSerialisesWriters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		a, b := open(), open()
		by := DirectoryAuthor{Actor: "scim", Via: "SCIM DELETE"}
		var people []StaffRecord
		for i := range 12 {
			people = append(people, StaffRecord{UserID: fmt.Sprintf("@p%d:x", i), Name: "P", Status: "active", Source: "scim"})
		}
		if _, err := a.SaveStaff(ctx, people, by); err != nil {
			t.Fatal(err)
		}
		refused := errors.New("over the limit")
		limit := func(st *Store) RemovalCheck {
			return func(ctx context.Context, removing []string) error {
				done, err := st.RemovalsSince(ctx, "scim", time.Time{})
				if err != nil {
					return err
				}
				if done+len(removing) > 3 {
					return refused
				}
				return nil
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, len(people))
		for i, p := range people {
			st := a
			if i%2 == 1 {
				st = b
			}
			p.Status = "left"
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = st.SaveStaffChecked(ctx, []StaffRecord{p}, by, limit(st))
			}()
		}
		wg.Wait()
		applied := 0
		for i, err := range errs {
			switch {
			case err == nil:
				applied++
			case !errors.Is(err, refused):
				t.Fatalf("removal %d: %v", i, err)
			}
		}
		counts, err := a.StaffCounts(ctx)
		if err != nil || applied != 3 || counts["left"] != 3 || counts["active"] != 9 {
			t.Fatalf("applied %d, counts %v %v; want exactly 3 removed", applied, counts, err)
		}
		if n, _ := a.RemovalsSince(ctx, "scim", time.Time{}); n != 3 {
			t.Fatalf("removal log holds %d", n)
		}
		// A write that removes nobody is not checked.
		people[0].Name = "Q"
		if _, err := a.SaveStaffChecked(ctx, people[:1], by, func(context.Context, []string) error { return refused }); err != nil {
			t.Fatalf("a write removing nobody was checked: %v", err)
		}
	})
}

// TestHeldRemovalsConfirmed: held removals are reported once, listed, and
// applied on confirmation unless the person's record changed since; applied
// ones are journalled, audited, logged as confirmed (not counted again) and
// no longer held.
func TestHeldRemovalsConfirmed(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		by := DirectoryAuthor{Actor: "scim", Via: "SCIM PATCH"}
		if _, err := s.SaveStaff(ctx, []StaffRecord{
			{UserID: "@a:x", Name: "A", Status: "active", Source: "scim"},
			{UserID: "@b:x", Name: "B", Status: "active", Source: "scim"},
			{UserID: "@c:x", Name: "C", Status: "active", Source: "scim"},
		}, by); err != nil {
			t.Fatal(err)
		}
		for i, h := range []HeldRemoval{{UserID: "@a:x", Status: "left"}, {UserID: "@b:x", Status: "suspended"}, {UserID: "@c:x", Status: "left"}} {
			first, err := s.HoldRemoval(ctx, "scim", h, time.Hour, "scim", "held for confirmation")
			if err != nil || first != (i == 0) {
				t.Fatalf("hold %d: first=%v %v", i, first, err)
			}
		}
		// An expired hold is forgotten at the next refusal, which is first again.
		now = now.Add(2 * time.Hour)
		if first, err := s.HoldRemoval(ctx, "scim", HeldRemoval{UserID: "@a:x", Status: "left"}, time.Hour, "scim", "held"); err != nil || !first {
			t.Fatalf("hold after the window: first=%v %v", first, err)
		}
		for _, h := range []HeldRemoval{{UserID: "@b:x", Status: "suspended"}, {UserID: "@c:x", Status: "left"}} {
			if _, err := s.HoldRemoval(ctx, "scim", h, time.Hour, "scim", "held"); err != nil {
				t.Fatal(err)
			}
		}
		held, err := s.HeldRemovals(ctx, "scim", time.Time{})
		if err != nil || len(held) != 3 || held[0].UserID != "@a:x" || held[1].Status != "suspended" {
			t.Fatalf("held = %+v %v", held, err)
		}
		// c's record changes after the refusal: its removal is not applied.
		now = now.Add(time.Second)
		if _, err := s.SaveStaff(ctx, []StaffRecord{{UserID: "@c:x", Name: "C2", Status: "active", Source: "scim"}}, by); err != nil {
			t.Fatal(err)
		}
		seq, _ := s.LatestDirectoryChange(ctx)
		now = now.Add(time.Minute)
		res, err := s.ConfirmRemovals(ctx, "scim", time.Time{}, DirectoryAuthor{Actor: "@ig:x", Via: "confirmed"})
		if err != nil || fmt.Sprint(res.Applied) != "[@a:x @b:x]" || fmt.Sprint(res.Skipped) != "[@c:x]" {
			t.Fatalf("confirm: %+v %v", res, err)
		}
		for id, want := range map[string]string{"@a:x": "left", "@b:x": "suspended", "@c:x": "active"} {
			if rec, _ := s.Staff(ctx, id); rec.Status != want {
				t.Fatalf("%s is %s, want %s", id, rec.Status, want)
			}
		}
		if cs, _ := s.DirectoryChangesSince(ctx, seq, 10); len(cs) != 2 || cs[0].UserID != "@a:x" || cs[0].Kind != ChangeStatus {
			t.Fatalf("journalled %+v", cs)
		}
		if n, _ := s.RemovalsSince(ctx, "scim", time.Time{}); n != 0 {
			t.Fatalf("confirmed removals counted as the source's: %d", n)
		}
		if n, _ := s.RemovalsSince(ctx, ConfirmedSource("scim"), time.Time{}); n != 2 {
			t.Fatalf("confirmed removals logged: %d", n)
		}
		if at, err := s.RemovalsConfirmedAt(ctx, "scim"); err != nil || !at.Equal(now.Truncate(time.Millisecond)) {
			t.Fatalf("confirmed at %v %v", at, err)
		}
		if held, _ := s.HeldRemovals(ctx, "scim", time.Time{}); len(held) != 0 {
			t.Fatalf("still held: %+v", held)
		}
		if _, err := s.ConfirmRemovals(ctx, "scim", time.Time{}, DirectoryAuthor{Actor: "@ig:x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("nothing to confirm: %v", err)
		}
		var actions []string
		_ = s.AuditSince(ctx, time.Time{}, func(e AuditEntry) error {
			actions = append(actions, e.Actor+" "+e.Action)
			return nil
		})
		if got := fmt.Sprint(actions); got != "[scim directory_change scim directory_held scim directory_held scim directory_held scim directory_held scim directory_held scim directory_held scim directory_change @ig:x directory_change]" {
			t.Fatalf("audit: %s", got)
		}
	})
}
