package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestRoomOptions: admins narrow a clinical room to roles; members who no
// longer fit are removed with the reason.
func TestRoomOptions(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	dave := tr.HS.RegisterUser(t, "dave", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: "Dave Patel", Role: "Staff Nurse", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice, dave)
	testenv.Say(t, alice, room, "!policy roles Consultant, Registrar")
	testenv.WaitForNotice(t, alice, room, bot, "Roles allowed in this room: Consultant, Registrar.")
	waitGone(t, alice, room, dave.UserID, 10*time.Second)
	if reason := memberReason(t, alice, room, dave.UserID); !strings.Contains(reason, "This room is for Consultant, Registrar; the staff directory lists you as Staff Nurse") {
		t.Errorf("dave told %q", reason)
	}
	if c := testenv.StateContent(t, alice, room, "org.caldicott.policy"); c["class"] != "clinical" || c["allowed_roles"] == nil {
		t.Errorf("policy event = %v", c)
	}
	testenv.Say(t, alice, room, "!policy roles any")
	testenv.WaitForNotice(t, alice, room, bot, "Roles allowed in this room: any.")
	testenv.Say(t, alice, room, "!policy auto-approve maybe")
	testenv.WaitForNotice(t, alice, room, bot, "Use `!policy auto-approve directory` or `!policy auto-approve off`.")
	testenv.Say(t, alice, room, "!policy auto-approve directory")
	testenv.WaitForNotice(t, alice, room, bot, "approved at once")
	if c := testenv.StateContent(t, alice, room, "org.caldicott.policy"); c["auto_approve"] != "directory" {
		t.Errorf("policy event = %v", c)
	}
}
