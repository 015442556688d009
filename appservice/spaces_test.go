package appservice_test

import (
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
)

// TestSpaceLinksBetweenClassesRemoved: a clinical room may not sit in a
// social space, whichever side the link is made from.
func TestSpaceLinksBetweenClassesRemoved(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	ig, mgmt := tr.IGAdmin(t)
	space := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", Name: "Staff social", CreationContent: map[string]any{"type": "m.space"}})
	testenv.SetPower(t, alice, space, bot, 100)
	testenv.Say(t, alice, space, "!policy classify social")
	testenv.WaitForNotice(t, alice, space, bot, "This room is now social")
	room := tr.ClinicalRoom(t, alice)
	via := map[string]any{"via": []string{tr.HS.ServerName}}

	t.Run("child link in the space", func(t *testing.T) {
		if _, err := alice.SendStateEvent(ctx, space, typeChild, room.String(), via); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, "the child link to be removed", func() (bool, string) {
			var c map[string]any
			_ = alice.StateEvent(ctx, space, typeChild, room.String(), &c)
			return len(c) == 0, ""
		})
		testenv.WaitForNotice(t, alice, space, bot, "a clinical room cannot be part of a social space. I have removed the link.")
		testenv.WaitForNotice(t, ig, mgmt, bot, "linked room "+room.String()+" into space "+space.String())
	})

	t.Run("parent link in the room", func(t *testing.T) {
		if _, err := alice.SendStateEvent(ctx, room, typeParent, space.String(), via); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 20*time.Second, "the parent link to be removed", func() (bool, string) {
			var c map[string]any
			_ = alice.StateEvent(ctx, room, typeParent, space.String(), &c)
			return len(c) == 0, ""
		})
	})
}
