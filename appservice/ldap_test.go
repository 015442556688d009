package appservice_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/internal/testenv"
)

// TestLDAPDirectoryDrivesMembership: the directory comes from a real slapd;
// a person marked left there loses the clinical room within one sync
// interval, and an unreachable LDAP removes nobody and alerts the IG admins.
func TestLDAPDirectoryDrivesMembership(t *testing.T) {
	base := "dc=trust-a,dc=nhs,dc=uk"
	slapd := testenv.StartSlapd(t,
		testenv.PersonLDIF(base, "alice", "Alice Smith", "Consultant", "Cardiology", "GMC 1234567", "active")+
			testenv.PersonLDIF(base, "dave", "Dave Patel", "Staff Nurse", "Ward 7", "NMC 12A3456B", "active"))
	tr := newTrust(t, "127.0.0.11", "", fmt.Sprintf(`directory:
  sync_interval: 10s
  ldap: {url: %q, bind_dn: %q, bind_password: %q, base_dn: "ou=people,%s"}
`, slapd.URL, slapd.AdminDN, slapd.AdminPassword, base))
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	dave := tr.hs.RegisterUser(t, "dave", false)
	ig, mgmt := igAdmin(t, tr)

	room := clinicalRoom(t, tr, alice, dave)
	waitForNotice(t, alice, room, bot, dave.UserID.String()+" joined: Dave Patel · Staff Nurse · Ward 7 · NMC 12A3456B · Trust A.")

	say(t, ig, mgmt, "!policy directory status")
	waitForNotice(t, ig, mgmt, bot, "Staff directory: 2 active.", "LDAP: full read at")

	time.Sleep(1100 * time.Millisecond) // modifyTimestamp has one-second resolution
	mod := ldap.NewModifyRequest("uid=dave,ou=people,"+base, nil)
	mod.Replace("employeeType", []string{"left"})
	if err := slapd.Admin(t).Modify(mod); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitGone(t, alice, room, dave.UserID, 30*time.Second)
	t.Logf("leaver removed %s after the LDAP change (sync interval 10s)", time.Since(start).Round(time.Second))

	slapd.Stop()
	waitForNotice(t, ig, mgmt, bot, "I cannot read the staff directory from LDAP", "remove nobody")
	if !isMember(t, alice, room, alice.UserID) {
		t.Fatal("a member was removed while the directory was unreachable")
	}
}
