package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/policy"
)

const ownServer = "trust-a.nhs.uk"

var guard = Guard{MaxFraction: 0.1, MinRemovals: 2}

func ldapConfig(s *testenv.Slapd, pageSize int) config.LDAP {
	return config.LDAP{
		URL: s.URL, BindDN: s.AdminDN, BindPassword: s.AdminPassword,
		BaseDN: "ou=people," + s.BaseDN, Filter: "(objectClass=inetOrgPerson)", PageSize: pageSize,
		Attributes: config.LDAPAttributes{Username: "uid", Name: "cn", Role: "title", Team: "ou", Registration: "employeeNumber", Status: "employeeType"},
	}
}

func TestLDAPSyncAgainstSlapd(t *testing.T) {
	base := "dc=trust-a,dc=nhs,dc=uk"
	var ldif strings.Builder
	ldif.WriteString(testenv.PersonLDIF(base, "alice", "Alice Smith", "Consultant", "Cardiology", "GMC 1234567", "active"))
	ldif.WriteString(testenv.PersonLDIF(base, "bob", "Bob Jones", "Staff Nurse", "Ward 7", "NMC 12A3456B", "suspended"))
	ldif.WriteString(testenv.PersonLDIF(base, "carol", "Carol Ray", "Registrar", "", "GMC 12", "active"))
	for i := 0; i < 7; i++ {
		ldif.WriteString(testenv.PersonLDIF(base, fmt.Sprintf("staff%d", i), fmt.Sprintf("Staff %d", i), "Porter", "Estates", "", ""))
	}
	slapd := testenv.StartSlapd(t, ldif.String())
	st := openStore(t)
	ctx := context.Background()
	cfg := ldapConfig(slapd, 3) // small pages, so paging is exercised

	res, fetch, err := SyncLDAP(ctx, st, cfg, ownServer, time.Time{}, guard, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 9 || len(fetch.Skipped) != 1 || !strings.Contains(fetch.Skipped[0], `uid=carol`) || !strings.Contains(fetch.Skipped[0], `registration "GMC 12"`) {
		t.Fatalf("first sync: %+v skipped %v", res, fetch.Skipped)
	}
	alice, err := st.Staff(ctx, "@alice:"+ownServer)
	if err != nil || alice.Name != "Alice Smith" || alice.Role != "Consultant" || alice.Team != "Cardiology" || alice.Registration != "GMC 1234567" || alice.Status != "active" || alice.Source != "ldap" {
		t.Fatalf("alice = %+v %v", alice, err)
	}
	if bob, _ := st.Staff(ctx, "@bob:"+ownServer); bob.Status != "suspended" {
		t.Fatalf("bob = %+v", bob)
	}
	if s0, _ := st.Staff(ctx, "@staff0:"+ownServer); s0.Status != "active" {
		t.Fatalf("an entry without employeeType must be active: %+v", s0)
	}
	if got := directoryAudit(t, st); len(got) != 1 || !strings.HasPrefix(got[0], "ldap; LDAP full sync: directory records of 9 people changed: 9 added") || strings.Count(got[0], ":"+ownServer) != 9 {
		t.Fatalf("first sync audited as %q", got)
	}
	if j := journal(t, st); len(j) != 9 {
		t.Fatalf("first sync journalled %q", j)
	}

	admin := slapd.Admin(t)
	t.Run("incremental sync reads only changes", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond) // modifyTimestamp has one-second resolution
		since := time.Now()
		mod := ldap.NewModifyRequest("uid=alice,ou=people,"+base, nil)
		mod.Replace("title", []string{"Clinical Director"})
		if err := admin.Modify(mod); err != nil {
			t.Fatal(err)
		}
		res, fetch, err := SyncLDAP(ctx, st, cfg, ownServer, since, guard, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(fetch.Entries) != 1 || fetch.Entries[0].UserID != "@alice:"+ownServer || res.Updated != 1 {
			t.Fatalf("incremental read %d entries: %+v", len(fetch.Entries), fetch.Entries)
		}
		if a, _ := st.Staff(ctx, "@alice:"+ownServer); a.Role != "Clinical Director" {
			t.Fatalf("change not applied: %+v", a)
		}
		got := directoryAudit(t, st)
		if len(got) != 2 || !strings.HasPrefix(got[1], "ldap; LDAP sync of entries modified since ") || !strings.HasSuffix(got[1], "1 other details changed; @alice:"+ownServer) {
			t.Fatalf("incremental sync audited as %q", got)
		}
		if j := journal(t, st); j[len(j)-1] != "@alice:"+ownServer+" updated" {
			t.Fatalf("incremental sync journalled %q", j)
		}
	})

	t.Run("full sync marks deleted people as left", func(t *testing.T) {
		if err := admin.Del(ldap.NewDelRequest("uid=staff0,ou=people,"+base, nil)); err != nil {
			t.Fatal(err)
		}
		res, _, err := SyncLDAP(ctx, st, cfg, ownServer, time.Time{}, guard, false)
		if err != nil || res.Removed != 1 {
			t.Fatalf("full sync: %+v %v", res, err)
		}
		if s0, _ := st.Staff(ctx, "@staff0:"+ownServer); s0.Status != "left" {
			t.Fatalf("deleted person = %+v", s0)
		}
		got := directoryAudit(t, st)
		if len(got) != 3 || !strings.HasSuffix(got[2], "1 status changed, 0 other details changed; @staff0:"+ownServer) {
			t.Fatalf("full sync audited as %q", got)
		}
		// Read again with nothing changed: no count, no audit entry, no journal row.
		before := journal(t, st)
		res, _, err = SyncLDAP(ctx, st, cfg, ownServer, time.Time{}, guard, false)
		if err != nil || res.Added+res.Updated+res.Removed != 0 {
			t.Fatalf("unchanged full sync: %+v %v", res, err)
		}
		if a, j := directoryAudit(t, st), journal(t, st); len(a) != 3 || len(j) != len(before) {
			t.Fatalf("unchanged full sync: %d audit entries (want 3), %d journal rows (want %d)", len(a), len(j), len(before))
		}
	})

	t.Run("mass deletion is held", func(t *testing.T) {
		for i := 1; i < 6; i++ {
			if err := admin.Del(ldap.NewDelRequest(fmt.Sprintf("uid=staff%d,ou=people,%s", i, base), nil)); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := SyncLDAP(ctx, st, cfg, ownServer, time.Time{}, guard, false)
		var held *HeldError
		if !errors.As(err, &held) || held.Removed != 5 {
			t.Fatalf("mass deletion: %v", err)
		}
		if s1, _ := st.Staff(ctx, "@staff1:"+ownServer); s1.Status != "active" {
			t.Fatalf("held sync changed the directory: %+v", s1)
		}
		if got := directoryAudit(t, st); len(got) != 3 {
			t.Fatalf("held sync audited: %q", got)
		}
	})

	t.Run("unreachable directory changes nothing", func(t *testing.T) {
		before, _ := st.StaffCounts(ctx)
		slapd.Stop()
		_, _, err := SyncLDAP(ctx, st, cfg, ownServer, time.Time{}, guard, true)
		if err == nil || !strings.Contains(err.Error(), "connect to ldap://") {
			t.Fatalf("err = %v", err)
		}
		after, _ := st.StaffCounts(ctx)
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("directory changed while LDAP was down: %v → %v", before, after)
		}
	})
}

func TestLDAPWrongPasswordAndEmptyResult(t *testing.T) {
	slapd := testenv.StartSlapd(t, "")
	st := openStore(t)
	cfg := ldapConfig(slapd, 100)
	cfg.BindPassword = "wrong"
	if _, _, err := SyncLDAP(context.Background(), st, cfg, ownServer, time.Time{}, guard, false); err == nil || !strings.Contains(err.Error(), "bind as cn=admin") {
		t.Fatalf("wrong password: %v", err)
	}
	cfg = ldapConfig(slapd, 100)
	if _, _, err := SyncLDAP(context.Background(), st, cfg, ownServer, time.Time{}, guard, false); err == nil || !strings.Contains(err.Error(), "LDAP returned nobody") {
		t.Fatalf("empty directory read: %v", err)
	}
}

func TestStatusFromLDAP(t *testing.T) {
	tests := []struct {
		attr, value string
		want        policy.StaffStatus
		wantErr     bool
	}{
		{"employeeType", "", policy.StatusActive, false},
		{"employeeType", "Left", policy.StatusLeft, false},
		{"employeeType", "contractor", "", true},
		{"userAccountControl", "512", policy.StatusActive, false},
		{"userAccountControl", "514", policy.StatusSuspended, false},
		{"userAccountControl", "x", "", true},
	}
	for _, tt := range tests {
		got, problem := statusFromLDAP(tt.attr, tt.value)
		if got != tt.want || (problem != "") != tt.wantErr {
			t.Errorf("statusFromLDAP(%s, %q) = %q, %q", tt.attr, tt.value, got, problem)
		}
	}
}
