package appservice_test

import (
	"testing"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestRetentionSetting: a room admin sets the room's retention within the
// trust's limits for its class; the period is the standard m.room.retention
// state; status shows what is in force and how deletion stands; a setting
// made directly in room state is explained to the room, and an unreadable
// one means the class default.
func TestRetentionSetting(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	room := tr.ClinicalRoom(t, alice)

	testenv.Say(t, alice, room, "!policy retention 14d")
	testenv.WaitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(1209600000))
	testenv.WaitForNotice(t, alice, room, bot, "This room's retention is now: keep messages for 14 days; older ones are deleted")

	testenv.Say(t, alice, room, "!policy retention 400d")
	testenv.WaitForNotice(t, alice, room, bot, "Clinical rooms keep messages for between 1 day and 365 days", "400 days is outside them")
	testenv.WaitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(1209600000))

	testenv.Say(t, alice, room, "!policy retention soon")
	testenv.WaitForNotice(t, alice, room, bot, `"soon" is not a period`)

	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Retention: 14 days.")

	// "default" follows the class default from then on: marked as such.
	testenv.Say(t, alice, room, "!policy retention default")
	testenv.WaitForState(t, alice, room, "m.room.retention", "org.caldicott.class_default", true)
	testenv.WaitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(2592000000))
	testenv.WaitForNotice(t, alice, room, bot, "keep messages for the clinical rooms' default, now 30 days")
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Retention: 30 days (the clinical rooms' default).")

	// Set directly (devtools): the room is told what it means.
	testenv.SetState(t, alice, room, "m.room.retention", map[string]any{"max_lifetime": 7 * 24 * 3600 * 1000})
	testenv.WaitForNotice(t, alice, room, bot, "This room now keeps messages for 7 days; older ones are deleted.")
	testenv.SetState(t, alice, room, "m.room.retention", map[string]any{"max_lifetime": "forever"})
	testenv.WaitForNotice(t, alice, room, bot, "⚠ This room's retention setting (m.room.retention) cannot be read", "30 days")
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Retention: 30 days (the clinical rooms' default)", "cannot be read")
}
