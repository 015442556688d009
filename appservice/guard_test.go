//go:build goolm

package appservice_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestPatientIdentifierGuard: in an encrypted social room (the bot reads it
// with its own device), a message holding a valid NHS number is deleted and
// its sender told privately, without the number; an invalid check digit,
// and the same number in a clinical room, are left alone; a room name
// holding an NHS number is cleaned in any room.
func TestPatientIdentifierGuard(t *testing.T) {
	tr := newTrust(t, "127.0.0.11", "", withEncryption)
	tr.startCaldicott(t, true)
	bot := tr.botID()
	alice := newEncryptedClient(t, tr.hs.RegisterUser(t, "alice", false))

	social := roomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat",
		InitialState: []*event.Event{{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}}})
	setPower(t, alice.Client, social, bot, 50)
	say(t, alice.Client, social, "!policy classify social")
	alice.waitFor(t, social, bot, "social")

	invalid := sendText(t, alice.Client, social, "ref 943 476 5918 is not a patient")
	valid := sendText(t, alice.Client, social, "Mrs Jones 943 476 5919 needs a bed")
	if sent, err := alice.GetEvent(ctx, social, valid); err != nil || sent.Type != event.EventEncrypted {
		t.Fatalf("the message was not sent encrypted: %v", err)
	}
	waitRedacted(t, alice.Client, social, 30*time.Second, valid)
	if redacted(t, alice.Client, social, invalid) {
		t.Fatal("a number with a wrong check digit was taken for an NHS number")
	}

	// The sender is told privately, and the number is not repeated.
	var dm string
	eventually(t, 20*time.Second, "a direct chat with alice", func() (bool, string) {
		v, ok, err := tr.store.KV(ctx, "dm:"+alice.UserID.String())
		dm = v
		return ok && err == nil, ""
	})
	if _, err := alice.JoinRoomByID(ctx, id.RoomID(dm)); err != nil {
		t.Fatalf("join the direct chat: %v", err)
	}
	notice := waitForNotice(t, alice.Client, id.RoomID(dm), bot, "because it contained an NHS number", "clinical room")
	if strings.Contains(notice, "5919") || strings.Contains(notice, "943") {
		t.Fatalf("the notice repeats the number: %q", notice)
	}

	// In a clinical room, patient information belongs.
	clinical := clinicalRoom(t, tr, alice.Client)
	kept := sendText(t, alice.Client, clinical, "Mrs Jones 943 476 5919 for theatre")
	alice.waitFor(t, clinical, alice.UserID, "for theatre")
	say(t, alice.Client, clinical, "!policy status")
	alice.waitFor(t, clinical, bot, "This room is clinical")
	if redacted(t, alice.Client, clinical, kept) {
		t.Fatal("an NHS number was deleted from a clinical room")
	}

	// A room's name is shown in invitations: cleaned in any room.
	setState(t, alice.Client, clinical, "m.room.name", map[string]any{"name": "Bed 4 943-476-5919"})
	waitForState(t, alice.Client, clinical, "m.room.name", "name", "Bed 4 [NHS number removed]")
	alice.waitFor(t, clinical, bot, "I took an NHS number out of this room's name")
}
