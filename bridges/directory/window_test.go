package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// TestCSVRemovalWindow: CSV imports that each remove a few people are held
// once the removals within the window pass the limit, as one import removing
// them all would be; a confirmed import applies and the count starts afresh;
// so does the passing of the window. Other sources' removals do not count.
func TestCSVRemovalWindow(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return now })
	g := Guard{MaxFraction: 0.1, MinRemovals: 2, Window: time.Hour}
	var staff []policy.StaffEntry
	for i := range 20 {
		staff = append(staff, policy.StaffEntry{UserID: fmt.Sprintf("@u%02d:%s", i, ownServer), Name: "U", Status: policy.StatusActive})
	}
	if _, err := Apply(ctx, st, staff, csvImport, g, false); err != nil {
		t.Fatal(err)
	}
	// A SCIM removal elsewhere in the directory is SCIM's to count.
	if _, err := st.SaveStaff(ctx, []store.StaffRecord{{UserID: "@s:" + ownServer, Name: "S", Status: "active", Source: "scim"}}, store.DirectoryAuthor{Actor: "scim"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveStaff(ctx, []store.StaffRecord{{UserID: "@s:" + ownServer, Name: "S", Status: "left", Source: "scim"}}, store.DirectoryAuthor{Actor: "scim"}); err != nil {
		t.Fatal(err)
	}
	leave := func(i int) []policy.StaffEntry {
		e := staff[i]
		e.Status = policy.StatusLeft
		return []policy.StaffEntry{e}
	}
	// One leaver per import: the first two go through (2 of 20 is the limit).
	for i := range 2 {
		now = now.Add(time.Minute)
		if r, err := Apply(ctx, st, leave(i), csvImport, g, false); err != nil || r.Removed != 1 {
			t.Fatalf("import %d: %+v %v", i, r, err)
		}
	}
	now = now.Add(time.Minute)
	_, err := Apply(ctx, st, leave(2), csvImport, g, false)
	var held *HeldError
	if !errors.As(err, &held) || held.Removed != 3 || held.Active != 20 || held.Earlier != 2 ||
		!strings.Contains(err.Error(), "with this update, 3 of 20 active staff (15%) would have been removed by CSV imports within 1h (2 before it)") {
		t.Fatalf("third import of one leaver: %v", err)
	}
	if rec, _ := st.Staff(ctx, staff[2].UserID); rec.Status != "active" {
		t.Fatalf("held import written: %+v", rec)
	}
	// Confirmed (-confirm-removals), it applies, and the count starts afresh.
	if _, err := Apply(ctx, st, leave(2), csvImport, g, true); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.Staff(ctx, staff[2].UserID); rec.Status != "left" {
		t.Fatalf("confirmed import not written: %+v", rec)
	}
	now = now.Add(time.Minute)
	if _, err := Apply(ctx, st, leave(3), csvImport, g, false); err != nil {
		t.Fatalf("first import after confirmation: %v", err)
	}
	if _, err := Apply(ctx, st, leave(4), csvImport, g, false); !errors.As(err, &held) || held.Earlier != 1 {
		t.Fatalf("second import after confirmation (2 of 17): %v", err)
	}
	// The window passes: the earlier removals no longer count.
	now = now.Add(time.Hour + time.Second)
	if _, err := Apply(ctx, st, leave(4), csvImport, g, false); err != nil {
		t.Fatalf("import after the window: %v", err)
	}
}

// TestLDAPRemovalWindow: incremental LDAP syncs that each find one more
// leaver are held once the removals within the window pass the limit; the
// person stays active until a confirmed sync applies it.
func TestLDAPRemovalWindow(t *testing.T) {
	base := "dc=trust-a,dc=nhs,dc=uk"
	var ldif strings.Builder
	for i := range 10 {
		ldif.WriteString(testenv.PersonLDIF(base, fmt.Sprintf("staff%d", i), fmt.Sprintf("Staff %d", i), "Porter", "Estates", "", "active"))
	}
	slapd := testenv.StartSlapd(t, ldif.String())
	st := openStore(t)
	ctx := context.Background()
	cfg := ldapConfig(slapd, 100)
	g := Guard{MaxFraction: 0.1, MinRemovals: 2, Window: time.Hour}
	if _, _, err := SyncLDAP(ctx, st, cfg, ownServer, time.Time{}, g, false); err != nil {
		t.Fatal(err)
	}
	admin := slapd.Admin(t)
	leave := func(i int) time.Time {
		t.Helper()
		time.Sleep(1100 * time.Millisecond) // modifyTimestamp has one-second resolution
		since := time.Now()
		mod := ldap.NewModifyRequest(fmt.Sprintf("uid=staff%d,ou=people,%s", i, base), nil)
		mod.Replace("employeeType", []string{"left"})
		if err := admin.Modify(mod); err != nil {
			t.Fatal(err)
		}
		return since
	}
	// 10% of 10 is one: the first leaver goes through (fewer than 2 never hold).
	if res, _, err := SyncLDAP(ctx, st, cfg, ownServer, leave(0), g, false); err != nil || res.Removed != 1 {
		t.Fatalf("first leaver: %+v %v", res, err)
	}
	since := leave(1)
	_, fetch, err := SyncLDAP(ctx, st, cfg, ownServer, since, g, false)
	var held *HeldError
	if !errors.As(err, &held) || len(fetch.Entries) != 1 || held.Earlier != 1 || !strings.Contains(err.Error(), "2 of 10 active staff (20%) would have been removed by LDAP syncs within 1h (1 before it)") {
		t.Fatalf("second sync of one leaver: %v (%d entries)", err, len(fetch.Entries))
	}
	if rec, _ := st.Staff(ctx, "@staff1:"+ownServer); rec.Status != "active" {
		t.Fatalf("held sync written: %+v", rec)
	}
	// An IG admin confirms (!policy directory confirm): the sync applies.
	if _, _, err := SyncLDAP(ctx, st, cfg, ownServer, since, g, true); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.Staff(ctx, "@staff1:"+ownServer); rec.Status != "left" {
		t.Fatalf("confirmed sync not written: %+v", rec)
	}
}
