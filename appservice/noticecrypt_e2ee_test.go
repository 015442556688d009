//go:build goolm

package appservice_test

import (
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestNoticeEncryptedRightAfterEncryption: a room is made encrypted and a
// command follows at once. The bot's encryption device learns of
// encryption through its own paced /sync, Caldicott through its
// transactions, sooner: the answer, which in a clinical room names people
// and reasons, must still go encrypted, never as a plaintext m.room.message,
// and every member's device must be able to read it, bob's too, who
// joined a moment before (the device's member list comes from the same
// lagging /sync). The last rounds put bob's join, the encryption event
// and the command in one transaction: Caldicott is stopped while they are
// sent, and the homeserver delivers what queued for it in one batch when
// it is back.
func TestNoticeEncryptedRightAfterEncryption(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.Start(t)
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	bob := newEncryptedClient(t, tr.HS.RegisterUser(t, "bob", false))
	const tries, batched = 8, 2
	plaintext := 0
	for i := range tries {
		room := testenv.RoomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{bob.UserID}})
		together := i >= tries-batched
		if together {
			tr.Stop(t)
		}
		if _, err := bob.JoinRoomByID(ctx, room); err != nil {
			t.Fatalf("bob joins: %v", err)
		}
		cmd := encryptThenAsk(t, alice.Client, room)
		if together {
			tr.Start(t)
		}
		answer := botAnswerAfter(t, alice.Client, room, cmd, bot)
		if answer.Type != event.EventEncrypted {
			plaintext++
			t.Errorf("try %d (one transaction: %v): the bot answered in plaintext (%s) in a room just made encrypted", i, together, answer.Type.Type)
			continue
		}
		for _, member := range []*encryptedClient{alice, bob} {
			if got := member.waitFor(t, room, bot, "This room is not classified"); !got.Mautrix.WasEncrypted {
				t.Errorf("try %d: %s's device read the answer as unencrypted", i, member.UserID)
			}
		}
	}
	t.Logf("%d of %d answers in rooms just made encrypted went in plaintext", plaintext, tries)
}
