package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestStaffResyncWritesOnlyChanges: a directory write compares everyone with
// what is stored and writes only records that differ — by user ID a chunk at
// a time for a few people, by one scan of the table for many — so a record
// sent again unchanged keeps its updated_at, unless its person has a removal
// held, whose confirmation the re-send must still stop.
func TestStaffResyncWritesOnlyChanges(t *testing.T) {
	for _, n := range []int{4, bulkStaffRead + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			withAllEngines(t, func(t *testing.T, s *Store) { checkResync(t, s, n) })
		})
	}
}

func checkResync(t *testing.T, s *Store, n int) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	by := DirectoryAuthor{Actor: "ldap", Via: "LDAP full sync"}
	records := make([]StaffRecord, n)
	for i := range records {
		records[i] = StaffRecord{UserID: fmt.Sprintf("@u%d:x", i), Name: fmt.Sprint("U", i), Status: "active", Source: "ldap"}
	}
	if saved, err := s.SaveStaffGuarded(ctx, records, by, nil, false); err != nil || len(saved.Changes) != n || len(saved.Removed) != 0 {
		t.Fatalf("first save: %d changes, removed %v, %v", len(saved.Changes), saved.Removed, err)
	}
	if _, err := s.HoldRemoval(ctx, "ldap", HeldRemoval{UserID: "@u2:x", Status: "left"}, time.Hour, "ldap", "held"); err != nil {
		t.Fatal(err)
	}
	first := now.UnixMilli()
	now = now.Add(time.Minute)
	records[0].Name = "U0 renamed"    // a change: written and journalled
	records[1].ExternalID = "ext-1"   // bookkeeping: written, not journalled
	records[n-1].Status = "suspended" // a removal, counted
	saved, err := s.SaveStaffGuarded(ctx, records, by, nil, false)
	var changes []string
	for _, c := range saved.Changes {
		changes = append(changes, c.UserID+" "+c.Kind)
	}
	if err != nil || fmt.Sprint(changes) != fmt.Sprintf("[@u0:x %s %s %s]", ChangeUpdated, records[n-1].UserID, ChangeStatus) ||
		fmt.Sprint(saved.Removed) != "["+records[n-1].UserID+"]" {
		t.Fatalf("resync: %+v %v", saved, err)
	}
	stamped := map[string]bool{}
	rows, err := s.db.Query(ctx, `SELECT user_id FROM staff WHERE updated_at <> $1`, first)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stamped[id] = true
	}
	want := map[string]bool{"@u0:x": true, "@u1:x": true, "@u2:x": true, records[n-1].UserID: true}
	if fmt.Sprint(stamped) != fmt.Sprint(want) {
		t.Fatalf("rows written by the resync: %v, want %v", stamped, want)
	}
	if rec, err := s.Staff(ctx, "@u1:x"); err != nil || rec.ExternalID != "ext-1" {
		t.Fatalf("bookkeeping change not stored: %+v %v", rec, err)
	}
	now = now.Add(time.Minute)
	res, err := s.ConfirmRemovals(ctx, "ldap", time.Time{}, DirectoryAuthor{Actor: "@ig:x", Via: "confirmed"})
	if err != nil || len(res.Applied) != 0 || fmt.Sprint(res.Skipped) != "[@u2:x]" {
		t.Fatalf("confirm after the held person was sent again: %+v %v", res, err)
	}
}
