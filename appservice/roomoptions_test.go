package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/store"
)

// TestRoomOptions: admins narrow a clinical room to roles; members who no
// longer fit are removed with the reason.
func TestRoomOptions(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	dave := tr.hs.RegisterUser(t, "dave", false)
	if err := tr.store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: "Dave Patel", Role: "Staff Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := clinicalRoom(t, tr, alice, dave)
	say(t, alice, room, "!policy roles Consultant, Registrar")
	waitForNotice(t, alice, room, bot, "Roles allowed in this room: Consultant, Registrar.")
	waitGone(t, alice, room, dave.UserID, 10*time.Second)
	if reason := memberReason(t, alice, room, dave.UserID); !strings.Contains(reason, "This room is for Consultant, Registrar; the staff directory lists you as Staff Nurse") {
		t.Errorf("dave told %q", reason)
	}
	if c := stateContent(t, alice, room, "org.caldicott.policy"); c["class"] != "clinical" || c["allowed_roles"] == nil {
		t.Errorf("policy event = %v", c)
	}
	say(t, alice, room, "!policy roles any")
	waitForNotice(t, alice, room, bot, "Roles allowed in this room: any.")
	say(t, alice, room, "!policy auto-approve maybe")
	waitForNotice(t, alice, room, bot, "Use `!policy auto-approve directory` or `!policy auto-approve off`.")
	say(t, alice, room, "!policy auto-approve directory")
	waitForNotice(t, alice, room, bot, "approved at once")
	if c := stateContent(t, alice, room, "org.caldicott.policy"); c["auto_approve"] != "directory" {
		t.Errorf("policy event = %v", c)
	}
}
