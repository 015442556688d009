package appservice_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestNoticeWithheldWithoutEncryptionDevice: with the bot's encryption
// device off (and plaintext not allowed, as for a trust), an answer due
// in an encrypted room is not posted in plaintext: the room gets a notice
// that says there is one and nothing of it, and the audit log records it
// withheld. An unencrypted room still gets the answer itself.
func TestNoticeWithheldWithoutEncryptionDevice(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Config.AppService.PlaintextInEncryptedRooms = false
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)

	open := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	cmd := testenv.SendText(t, alice, open, "!policy status")
	if answer := botAnswerAfter(t, alice, open, cmd, bot); !strings.Contains(answer.Content.AsMessage().Body, "This room is not classified") {
		t.Errorf("answer in an unencrypted room = %q, want the status", answer.Content.AsMessage().Body)
	}

	room := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	cmd = encryptThenAsk(t, alice, room)
	answer := botAnswerAfter(t, alice, room, cmd, bot)
	msg := answer.Content.AsMessage()
	if answer.Type != event.EventMessage || !strings.Contains(msg.Body, "cannot encrypt it") {
		t.Fatalf("answer in an encrypted room = %s %q, want the content-free notice", answer.Type.Type, msg.Body)
	}
	if strings.Contains(msg.Body, "classified") || msg.Mentions != nil && len(msg.Mentions.UserIDs) > 0 {
		t.Errorf("the withheld notice carries content: %q, mentions %v", msg.Body, msg.Mentions)
	}
	if msg.RelatesTo == nil || msg.RelatesTo.GetReplyTo() != cmd {
		t.Errorf("the withheld notice does not answer the command: %+v", msg.RelatesTo)
	}
	testenv.Eventually(t, 10*time.Second, "the withheld answer in the audit log", func() (bool, string) {
		entries, err := tr.Store.AuditForRoom(ctx, room.String(), 50)
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range entries {
			if e.Action == "withheld.reply" && strings.Contains(e.Detail, cmd.String()) {
				return true, ""
			}
			seen = append(seen, e.Action)
		}
		return false, strings.Join(seen, ", ")
	})
}

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
				_ = evt.Content.ParseRaw(evt.Type)
				answer = evt
			}
		}
		return false, "the command is not in the last 100 events"
	})
	return answer
}
