package appservice_test

import (
	"testing"
)

// TestRetentionSetting: a room admin sets the room's retention within the
// trust's limits for its class; the period is the standard m.room.retention
// state; status shows what is in force and how deletion stands; a setting
// made directly in room state is explained to the room, and an unreadable
// one means the class default.
func TestRetentionSetting(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	room := clinicalRoom(t, tr, alice)

	say(t, alice, room, "!policy retention 14d")
	waitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(1209600000))
	waitForNotice(t, alice, room, bot, "This room's retention is now: keep messages for 14 days; older ones are deleted")

	say(t, alice, room, "!policy retention 400d")
	waitForNotice(t, alice, room, bot, "Clinical rooms keep messages for between 1 day and 365 days", "400 days is outside them")
	waitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(1209600000))

	say(t, alice, room, "!policy retention soon")
	waitForNotice(t, alice, room, bot, `"soon" is not a period`)

	say(t, alice, room, "!policy status")
	waitForNotice(t, alice, room, bot, "Retention: 14 days.")

	// "default" follows the class default from then on: marked as such.
	say(t, alice, room, "!policy retention default")
	waitForState(t, alice, room, "m.room.retention", "org.caldicott.class_default", true)
	waitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(2592000000))
	waitForNotice(t, alice, room, bot, "keep messages for the clinical rooms' default, now 30 days")
	say(t, alice, room, "!policy status")
	waitForNotice(t, alice, room, bot, "Retention: 30 days (the clinical rooms' default).")

	// Set directly (devtools): the room is told what it means.
	setState(t, alice, room, "m.room.retention", map[string]any{"max_lifetime": 7 * 24 * 3600 * 1000})
	waitForNotice(t, alice, room, bot, "This room now keeps messages for 7 days; older ones are deleted.")
	setState(t, alice, room, "m.room.retention", map[string]any{"max_lifetime": "forever"})
	waitForNotice(t, alice, room, bot, "⚠ This room's retention setting (m.room.retention) cannot be read", "30 days")
	say(t, alice, room, "!policy status")
	waitForNotice(t, alice, room, bot, "Retention: 30 days (the clinical rooms' default)", "cannot be read")
}
