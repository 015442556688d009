package appservice_test

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestLostDevice: the remote-wipe answer signs out every device through
// Dendrite's admin API and holds the person out of clinical rooms until released.
func TestLostDevice(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	admin := tr.HS.RegisterUser(t, "operator", true)
	tr.Config.Homeserver.AdminToken = admin.AccessToken
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: "Dave Patel", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	ig, mgmt := tr.IGAdmin(t)
	room := tr.ClinicalRoom(t, alice, dave)

	testenv.Say(t, ig, mgmt, "!policy lost-device "+dave.UserID.String())
	testenv.WaitForNotice(t, ig, mgmt, bot, "Every device of "+dave.UserID.String()+" has been signed out", "removed from 1 clinical room(s)")
	if _, err := dave.Whoami(ctx); err == nil || !strings.Contains(err.Error(), "M_UNKNOWN_TOKEN") {
		t.Fatalf("dave's session still works after lost-device: %v", err)
	}
	testenv.WaitMembership(t, alice, room, dave.UserID, "leave")
	if reason := memberReason(t, alice, room, dave.UserID); !strings.Contains(reason, "held out of the clinical rooms of Trust A") {
		t.Errorf("dave told %q", reason)
	}

	testenv.Say(t, ig, mgmt, "!policy report")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Caldicott report for Trust A", "Rooms: 1 clinical", "Membership reviews: none due or open.", "Held out of clinical rooms: "+dave.UserID.String(), "Staff directory: 2 active.")

	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dave.UserID}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitMembership(t, alice, room, dave.UserID, "leave")

	testenv.Say(t, ig, mgmt, "!policy release "+dave.UserID.String())
	testenv.WaitForNotice(t, ig, mgmt, bot, dave.UserID.String()+" may join clinical rooms again")
	if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: dave.UserID}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitMembership(t, alice, room, dave.UserID, "invite")

	testenv.Say(t, ig, mgmt, "!policy lost-device dave")
	testenv.WaitForNotice(t, ig, mgmt, bot, `"dave" is not a Matrix user ID`)
}
