package appservice_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestLDAPDirectoryDrivesMembership: the directory comes from a real slapd;
// a person marked left there loses the clinical room within one sync
// interval, and an unreachable LDAP removes nobody and alerts the IG admins.
func TestLDAPDirectoryDrivesMembership(t *testing.T) {
	base := "dc=trust-a,dc=nhs,dc=uk"
	slapd := testenv.StartSlapd(t,
		testenv.PersonLDIF(base, "alice", "Alice Smith", "Consultant", "Cardiology", "GMC 1234567", "active")+
			testenv.PersonLDIF(base, "dave", "Dave Patel", "Staff Nurse", "Ward 7", "NMC 12A3456B", "active"))
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`directory:
  sync_interval: 10s
  ldap: {url: %q, bind_dn: %q, bind_password: %q, base_dn: "ou=people,%s"}
`, slapd.URL, slapd.AdminDN, slapd.AdminPassword, base)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	ig, mgmt := tr.IGAdmin(t)

	room := tr.ClinicalRoom(t, alice, dave)
	testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" joined: Dave Patel · Staff Nurse · Ward 7 · NMC 12A3456B · Trust A.")

	testenv.Say(t, ig, mgmt, "!policy directory status")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Staff directory: 2 active.", "LDAP: full read at")

	testenv.WaitUntil(time.Now().Add(1100 * time.Millisecond)) // modifyTimestamp has one-second resolution
	mod := ldap.NewModifyRequest("uid=dave,ou=people,"+base, nil)
	mod.Replace("employeeType", []string{"left"})
	if err := slapd.Admin(t).Modify(mod); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitGone(t, alice, room, dave.UserID, 30*time.Second)
	t.Logf("leaver removed %s after the LDAP change (sync interval 10s)", time.Since(start).Round(time.Second))

	slapd.Stop()
	testenv.WaitForNotice(t, ig, mgmt, bot, "I cannot read the staff directory from LDAP", "remove nobody")
	if !isMember(t, alice, room, alice.UserID) {
		t.Fatal("a member was removed while the directory was unreachable")
	}
}
