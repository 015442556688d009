package appservice_test

import (
	"testing"
)

// TestRetentionSetting: a room admin sets the room's retention within the
// trust's limits for its class; the period is the standard m.room.retention
// state; status shows what is in force, and says plainly that deletion is
// not running yet; an unreadable setting means the class default.
func TestRetentionSetting(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	room := clinicalRoom(t, tr, alice)

	say(t, alice, room, "!policy retention 14d")
	waitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(1209600000))
	waitForNotice(t, alice, room, bot, "This room's retention is now: keep messages for 14 days", "messages are not deleted")

	say(t, alice, room, "!policy retention 400d")
	waitForNotice(t, alice, room, bot, "Clinical rooms keep messages for between 1 day and 365 days", "400 days is outside them")
	waitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(1209600000))

	say(t, alice, room, "!policy retention soon")
	waitForNotice(t, alice, room, bot, `"soon" is not a period`)

	say(t, alice, room, "!policy status")
	waitForNotice(t, alice, room, bot, "Retention: 14 days.")

	say(t, alice, room, "!policy retention default")
	waitForState(t, alice, room, "m.room.retention", "max_lifetime", float64(2592000000))

	setState(t, alice, room, "m.room.retention", map[string]any{"max_lifetime": "forever"})
	say(t, alice, room, "!policy status")
	waitForNotice(t, alice, room, bot, "Retention: 30 days (the clinical rooms' default)", "cannot be read")
}
