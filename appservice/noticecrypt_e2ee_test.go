//go:build goolm

package appservice_test

import (
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// encryptThenAsk makes room encrypted (alice sends m.room.encryption) and at
// once, before anyone's /sync can have seen it, asks the bot something in
// plain text (a client that has not yet seen the encryption sends that way).
// It returns the command's event ID.
func encryptThenAsk(t *testing.T, alice *mautrix.Client, room id.RoomID) id.EventID {
	t.Helper()
	if _, err := alice.SendStateEvent(ctx, room, event.StateEncryption, "", &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}); err != nil {
		t.Fatalf("encrypt the room: %v", err)
	}
	resp, err := alice.SendMessageEvent(ctx, room, event.EventMessage,
		&event.MessageEventContent{MsgType: event.MsgText, Body: "!policy status"}, mautrix.ReqSendEvent{DontEncrypt: true})
	if err != nil {
		t.Fatalf("ask the bot: %v", err)
	}
	return resp.EventID
}

// botAnswerAfter waits for the bot's first room message after the event
// after and returns it as the homeserver holds it (encrypted or not).
func botAnswerAfter(t *testing.T, cli *mautrix.Client, room id.RoomID, after id.EventID, bot id.UserID) *event.Event {
	t.Helper()
	var answer *event.Event
	testenv.Eventually(t, 30*time.Second, "the bot's answer in "+room.String(), func() (bool, string) {
		resp, err := cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			return false, err.Error()
		}
		for _, evt := range resp.Chunk { // newest first
			if evt.ID == after {
				return answer != nil, fmt.Sprintf("%d events", len(resp.Chunk))
			}
			if evt.Sender == bot && evt.StateKey == nil && (evt.Type == event.EventMessage || evt.Type == event.EventEncrypted) {
				answer = evt
			}
		}
		return false, "the command is not in the last 100 events"
	})
	return answer
}

// TestNoticeEncryptedRightAfterEncryption: a room is made encrypted and a
// command follows at once. The bot's encryption device learns of
// encryption through its own paced /sync, Caldicott through its
// transactions, sooner: the answer, which in a clinical room names people
// and reasons, must still go encrypted, never as a plaintext m.room.message,
// and alice's device must be able to read it. The last rounds put the
// encryption event and the command in one transaction: Caldicott is
// stopped while both are sent, and the homeserver delivers what queued for
// it in one batch when it is back.
func TestNoticeEncryptedRightAfterEncryption(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.Start(t)
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	const tries, batched = 8, 2
	plaintext := 0
	for i := range tries {
		room := testenv.RoomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat"})
		together := i >= tries-batched
		if together {
			tr.Stop(t)
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
		if got := alice.waitFor(t, room, bot, "This room is not classified"); !got.Mautrix.WasEncrypted {
			t.Errorf("try %d: alice's device read the answer as unencrypted", i)
		}
	}
	t.Logf("%d of %d answers in rooms just made encrypted went in plaintext", plaintext, tries)
}
