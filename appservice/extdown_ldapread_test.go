package appservice_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/bridges/directory"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// TestLDAPDownMidRead: LDAP goes away in the middle of a full, paged read
// (after some pages came back): nothing is applied — the people not yet
// read are not taken for leavers — and nothing is journalled or audited.
// The next full read, with LDAP back, applies the leavers removed from LDAP
// meanwhile once; the read after it changes nothing.
func TestLDAPDownMidRead(t *testing.T) {
	const base, own = "dc=trust-a,dc=nhs,dc=uk", "trust-a.nhs.uk"
	var ldif strings.Builder
	for i := range 300 {
		ldif.WriteString(testenv.PersonLDIF(base, fmt.Sprintf("staff%03d", i), fmt.Sprintf("Staff %d", i), "Staff Nurse", "Ward 7", "", "active"))
	}
	slapd := testenv.StartSlapd(t, ldif.String())
	cut := newTCPCut(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.LDAP{
		URL: "ldap://" + cut.Addr, BindDN: slapd.AdminDN, BindPassword: slapd.AdminPassword,
		BaseDN: "ou=people," + base, Filter: "(objectClass=inetOrgPerson)", PageSize: 10,
		Attributes: config.LDAPAttributes{Username: "uid", Name: "cn", Role: "title", Team: "ou", Registration: "employeeNumber", Status: "employeeType"},
	}
	guard := directory.Guard{MaxFraction: 0.1, MinRemovals: 5}
	if res, _, err := directory.SyncLDAP(ctx, st, cfg, own, time.Time{}, guard, false); err != nil || res.Added != 300 {
		t.Fatalf("first read: %+v %v", res, err)
	}
	latest, err := st.LatestDirectoryChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Six people leave: three deleted from LDAP, three marked left.
	admin := slapd.Admin(t)
	for i := range 3 {
		if err := admin.Del(ldap.NewDelRequest(fmt.Sprintf("uid=staff%03d,ou=people,%s", i, base), nil)); err != nil {
			t.Fatal(err)
		}
		mod := ldap.NewModifyRequest(fmt.Sprintf("uid=staff%03d,ou=people,%s", 100+i, base), nil)
		mod.Replace("employeeType", []string{"left"})
		if err := admin.Modify(mod); err != nil {
			t.Fatal(err)
		}
	}

	// About a third of the answer comes back, then LDAP is gone.
	cut.CutAfter(20_000)
	since := time.Now()
	res, fetch, err := directory.SyncLDAP(ctx, st, cfg, own, time.Time{}, guard, false)
	if err == nil {
		t.Fatalf("a read cut half-way succeeded: %+v, %d entries", res, len(fetch.Entries))
	}
	t.Logf("cut after %d of 297 entries: %v", len(fetch.Entries), err)
	if len(fetch.Entries) == 0 || len(fetch.Entries) >= 297 {
		t.Fatalf("the cut fell outside the read: %d entries read", len(fetch.Entries))
	}
	counts, err := st.StaffCounts(ctx)
	if err != nil || counts["active"] != 300 || counts["left"] != 0 {
		t.Fatalf("after the half read: %v %v", counts, err)
	}
	if now, _ := st.LatestDirectoryChange(ctx); now != latest {
		t.Fatalf("the half read journalled changes: %d → %d", latest, now)
	}
	if got := auditSince(t, st, since, store.ActionDirectoryChange); got != 0 {
		t.Fatalf("the half read was audited %d times", got)
	}

	cut.Mend(t)
	res, _, err = directory.SyncLDAP(ctx, st, cfg, own, time.Time{}, guard, false)
	if err != nil || res.Removed != 6 {
		t.Fatalf("read after the outage: %+v %v", res, err)
	}
	counts, _ = st.StaffCounts(ctx)
	if counts["active"] != 294 || counts["left"] != 6 {
		t.Fatalf("after the outage: %v", counts)
	}
	res, _, err = directory.SyncLDAP(ctx, st, cfg, own, time.Time{}, guard, false)
	if err != nil || res.Added+res.Updated+res.Removed != 0 {
		t.Fatalf("the read after changed something: %+v %v", res, err)
	}
	if got := auditSince(t, st, since, store.ActionDirectoryChange); got != 1 {
		t.Fatalf("%d directory_change entries, want 1", got)
	}
}

func auditSince(t *testing.T, st *store.Store, since time.Time, action string) int {
	t.Helper()
	n := 0
	if err := st.AuditSince(ctx, since, func(e store.AuditEntry) error {
		if e.Action == action {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
