package appservice_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestLDAPDown: LDAP stops answering (its port refuses connections) over
// several syncs while HR marks a leaver there. Nobody is removed while it
// cannot be read; the IG team is told once, the gauge says so and status
// shows it; when LDAP answers again the IG team is told once, the gauge
// clears, and the leaver marked meanwhile is removed — once, audited once.
func TestLDAPDown(t *testing.T) {
	base := "dc=trust-a,dc=nhs,dc=uk"
	slapd := testenv.StartSlapd(t,
		testenv.PersonLDIF(base, "alice", "Alice Smith", "Consultant", "Cardiology", "GMC 1234567", "active")+
			testenv.PersonLDIF(base, "dave", "Dave Patel", "Staff Nurse", "Ward 7", "NMC 12A3456B", "active")+
			testenv.PersonLDIF(base, "erin", "Erin Jones", "Staff Nurse", "Ward 7", "NMC 12A3456C", "active"))
	cut := newTCPCut(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`directory:
  sync_interval: 10s
  ldap: {url: "ldap://%s", bind_dn: %q, bind_password: %q, base_dn: "ou=people,%s"}
`, cut.Addr, slapd.AdminDN, slapd.AdminPassword, base)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	erin := tr.HS.RegisterUser(t, "erin", false)
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice, dave, erin)
	testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" joined: Dave Patel")
	testenv.WaitForNotice(t, alice, room, bot, erin.UserID.String()+" joined: Erin Jones")
	const down, back = "I cannot read the staff directory from LDAP", "The staff directory can be read from LDAP again"
	if g := metricLine(t, tr, "caldicott_directory_ldap_unreachable"); g != "caldicott_directory_ldap_unreachable 0" {
		t.Fatalf("before the outage: %s", g)
	}

	// The outage. HR marks Dave as left meanwhile, in the directory itself.
	testenv.WaitUntil(time.Now().Add(1100 * time.Millisecond)) // modifyTimestamp has one-second resolution
	outage := time.Now()
	cut.Cut()
	mod := ldap.NewModifyRequest("uid=dave,ou=people,"+base, nil)
	mod.Replace("employeeType", []string{"left"})
	if err := slapd.Admin(t).Modify(mod); err != nil {
		t.Fatal(err)
	}
	testenv.WaitForNotice(t, ig, mgmt, bot, down, "remove nobody")
	t.Logf("LDAP cut: IG team told %s later (sync interval 10s)", time.Since(outage).Round(time.Second))
	if g := metricLine(t, tr, "caldicott_directory_ldap_unreachable"); g != "caldicott_directory_ldap_unreachable 1" {
		t.Fatalf("during the outage: %s", g)
	}
	testenv.Say(t, ig, mgmt, "!policy directory status")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Staff directory: 3 active.", "LDAP cannot be read at the moment (since")
	// Two more syncs fail: nobody removed, nobody told again.
	testenv.Quiet(t, 21*time.Second, "nobody removed and one notice while LDAP is down", func() (bool, string) {
		for _, u := range []id.UserID{alice.UserID, dave.UserID, erin.UserID} {
			if !isMember(t, alice, room, u) {
				return false, u.String() + " was removed while the directory could not be read"
			}
		}
		return noticeCount(t, ig, mgmt, bot, down)()
	})

	cut.Mend(t)
	mended := time.Now()
	testenv.WaitForNotice(t, ig, mgmt, bot, back, "could not be for")
	t.Logf("LDAP back: IG team told %s later", time.Since(mended).Round(time.Second))
	waitGone(t, alice, room, dave.UserID, 20*time.Second)
	t.Logf("LDAP back: the leaver marked during the outage removed %s later (outage %s)", time.Since(mended).Round(time.Second), mended.Sub(outage).Round(time.Second))
	if g := metricLine(t, tr, "caldicott_directory_ldap_unreachable"); g != "caldicott_directory_ldap_unreachable 0" {
		t.Fatalf("after the outage: %s", g)
	}
	// The next sync changes nothing and says nothing more.
	testenv.Quiet(t, 12*time.Second, "one removal and one notice each after LDAP came back", func() (bool, string) {
		if n := membershipChanges(t, alice, room, dave.UserID, event.MembershipLeave); n != 1 {
			return false, fmt.Sprintf("dave removed %d times", n)
		}
		if !isMember(t, alice, room, alice.UserID) || !isMember(t, alice, room, erin.UserID) {
			return false, "an active member was removed"
		}
		if ok, s := noticeCount(t, ig, mgmt, bot, down)(); !ok {
			return false, s
		}
		return noticeCount(t, ig, mgmt, bot, back)()
	})
	testenv.Say(t, ig, mgmt, "!policy directory status")
	status := testenv.WaitForNotice(t, ig, mgmt, bot, "Staff directory: 2 active, 1 left.")
	if strings.Contains(status, "cannot be read") {
		t.Fatalf("status still says LDAP cannot be read: %q", status)
	}

	for action, want := range map[string]int{"directory_unavailable": 1, "directory_available": 1} {
		if got := auditEntries(t, tr, outage, action); len(got) != want {
			t.Errorf("%d %s audit entries, want %d", len(got), action, want)
		}
	}
	changes := 0
	for _, e := range auditEntries(t, tr, outage, "directory_change") {
		if strings.Contains(e.Detail+e.Reason, dave.UserID.String()) {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("dave's leaving audited %d times, want 1", changes)
	}
	auditIntact(t, tr)
}

// TestLDAPDownThenHeld: while LDAP cannot be read, HR marks more leavers
// than the mass-removal guard allows. When LDAP is back, the sync is held
// (nobody removed) — and the outage is over all the same: the IG team is
// told both, the gauge clears, and status no longer says LDAP cannot be
// read (before, a held sync left the outage standing until a sync applied).
func TestLDAPDownThenHeld(t *testing.T) {
	base := "dc=trust-a,dc=nhs,dc=uk"
	slapd := testenv.StartSlapd(t,
		testenv.PersonLDIF(base, "alice", "Alice Smith", "Consultant", "Cardiology", "GMC 1234567", "active")+
			testenv.PersonLDIF(base, "dave", "Dave Patel", "Staff Nurse", "Ward 7", "NMC 12A3456B", "active")+
			testenv.PersonLDIF(base, "erin", "Erin Jones", "Staff Nurse", "Ward 7", "NMC 12A3456C", "active"))
	cut := newTCPCut(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`directory:
  sync_interval: 10s
  max_removal_fraction: 0.5
  hold_min_removals: 1
  ldap: {url: "ldap://%s", bind_dn: %q, bind_password: %q, base_dn: "ou=people,%s"}
`, cut.Addr, slapd.AdminDN, slapd.AdminPassword, base)})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	erin := tr.HS.RegisterUser(t, "erin", false)
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice, dave, erin)
	testenv.WaitForNotice(t, alice, room, bot, erin.UserID.String()+" joined: Erin Jones")

	testenv.WaitUntil(time.Now().Add(1100 * time.Millisecond)) // modifyTimestamp has one-second resolution
	cut.Cut()
	for _, uid := range []string{"dave", "erin"} {
		mod := ldap.NewModifyRequest("uid="+uid+",ou=people,"+base, nil)
		mod.Replace("employeeType", []string{"left"})
		if err := slapd.Admin(t).Modify(mod); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitForNotice(t, ig, mgmt, bot, "I cannot read the staff directory from LDAP")
	cut.Mend(t)
	testenv.WaitForNotice(t, ig, mgmt, bot, "The staff directory can be read from LDAP again")
	testenv.WaitForNotice(t, ig, mgmt, bot, "The staff directory sync from LDAP held for confirmation")
	if g := metricLine(t, tr, "caldicott_directory_ldap_unreachable"); g != "caldicott_directory_ldap_unreachable 0" {
		t.Fatalf("LDAP is back, the sync held: %s", g)
	}
	testenv.Say(t, ig, mgmt, "!policy directory status")
	status := testenv.WaitForNotice(t, ig, mgmt, bot, "Staff directory: 3 active.", "A sync is held for confirmation")
	if strings.Contains(status, "cannot be read") {
		t.Fatalf("status says LDAP cannot be read though it was just read: %q", status)
	}
	for _, u := range []id.UserID{dave.UserID, erin.UserID} {
		if !isMember(t, alice, room, u) {
			t.Fatalf("%s removed by a held sync", u)
		}
	}
}
