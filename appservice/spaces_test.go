package appservice_test

import (
	"testing"
	"time"

	"maunium.net/go/mautrix"
)

// TestSpaceLinksBetweenClassesRemoved: a clinical room may not sit in a
// social space, whichever side the link is made from.
func TestSpaceLinksBetweenClassesRemoved(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", "")
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := tr.hs.RegisterUser(t, "alice", false)
	ig, mgmt := igAdmin(t, tr)
	space := roomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Staff social", CreationContent: map[string]any{"type": "m.space"}})
	setPower(t, alice, space, bot, 100)
	say(t, alice, space, "!policy classify social")
	waitForNotice(t, alice, space, bot, "This room is now social")
	room := clinicalRoom(t, tr, alice)
	via := map[string]any{"via": []string{tr.hs.ServerName}}

	t.Run("child link in the space", func(t *testing.T) {
		if _, err := alice.SendStateEvent(ctx, space, typeChild, room.String(), via); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the child link to be removed", func() (bool, string) {
			var c map[string]any
			_ = alice.StateEvent(ctx, space, typeChild, room.String(), &c)
			return len(c) == 0, ""
		})
		waitForNotice(t, alice, space, bot, "a clinical room cannot be part of a social space. I have removed the link.")
		waitForNotice(t, ig, mgmt, bot, "linked room "+room.String()+" into space "+space.String())
	})

	t.Run("parent link in the room", func(t *testing.T) {
		if _, err := alice.SendStateEvent(ctx, room, typeParent, space.String(), via); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the parent link to be removed", func() (bool, string) {
			var c map[string]any
			_ = alice.StateEvent(ctx, room, typeParent, space.String(), &c)
			return len(c) == 0, ""
		})
	})
}
