package bench_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/internal/testenv"
)

// staffDirectory is the scale scenario's LDAP directory: Alice, Olive and
// n more people, of whom 1% are marked as leavers before each directory
// phase (fresh ones each time).
type staffDirectory struct {
	slapd      *testenv.Slapd
	n          int
	nextLeaver int
}

// startStaffDirectory loads slapd with n active staff besides Alice and
// Olive (the rooms' admin and the observer).
func startStaffDirectory(t *testing.T, n int) *staffDirectory {
	t.Helper()
	base := "dc=trust-a,dc=nhs,dc=uk"
	var ldif strings.Builder
	ldif.WriteString(testenv.PersonLDIF(base, "alice", "Alice Smith", "Consultant", "Cardiology", "GMC 1234567", "active"))
	ldif.WriteString(testenv.PersonLDIF(base, "olive", "Olive Jones", "Ward Clerk", "Cardiology", "", "active"))
	for i := range n {
		ldif.WriteString(testenv.PersonLDIF(base, fmt.Sprintf("staff%06d", i), fmt.Sprintf("Person %d", i), "Staff Nurse", fmt.Sprintf("Ward %d", i%400), "", "active"))
	}
	return &staffDirectory{slapd: testenv.StartSlapd(t, ldif.String()), n: n}
}

// scaleJobs says which long job a phase runs back to back (reviews every
// second, the directory every 10 s, its shortest); the others are off.
type scaleJobs struct{ reviews, directory bool }

// yaml is the scenario's configuration section for jobs (the
// reconciliation's interval is in the harness's policy section).
func (d *staffDirectory) yaml(j scaleJobs) string {
	dirSync, reviews := "24h", "24h"
	if j.directory {
		dirSync = "10s"
	}
	if j.reviews {
		reviews = "1s"
	}
	// full_sync_interval 1s: every directory sync of the phase reads
	// everyone, as the nightly full read does.
	return fmt.Sprintf(`directory:
  sync_interval: %s
  ldap: {url: %q, bind_dn: %q, bind_password: %q, base_dn: "ou=people,%s", full_sync_interval: 1s}
review: {check_interval: %s}
verification: {check_interval: 24h}
`, dirSync, d.slapd.URL, d.slapd.AdminDN, d.slapd.AdminPassword, d.slapd.BaseDN, reviews)
}

// markLeavers marks the next 1% of the staff as left in LDAP, and
// returns how many.
func (d *staffDirectory) markLeavers(t *testing.T) int {
	t.Helper()
	conn := d.slapd.Admin(t)
	count := max(d.n/100, 1)
	for range count {
		uid := fmt.Sprintf("staff%06d", d.nextLeaver%d.n)
		d.nextLeaver++
		mod := ldap.NewModifyRequest("uid="+uid+",ou=people,"+d.slapd.BaseDN, nil)
		mod.Replace("employeeType", []string{"left"})
		if err := conn.Modify(mod); err != nil {
			t.Fatalf("mark %s left: %v", uid, err)
		}
	}
	return count
}
