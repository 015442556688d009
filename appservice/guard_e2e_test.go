//go:build goolm

package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
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
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.Start(t)
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))

	social := testenv.RoomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat",
		InitialState: []*event.Event{{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}}})
	testenv.SetPower(t, alice.Client, social, bot, 50)
	testenv.Say(t, alice.Client, social, "!policy classify social")
	alice.waitFor(t, social, bot, "social")

	invalid := testenv.SendText(t, alice.Client, social, "ref 943 476 5918 is not a patient")
	valid := testenv.SendText(t, alice.Client, social, "Mrs Jones 943 476 5919 needs a bed")
	if sent := testenv.EventOf(t, alice.Client, social, valid); sent.Type != event.EventEncrypted {
		t.Fatalf("the message was not sent encrypted: %s", sent.Type)
	}
	waitRedacted(t, alice.Client, social, 30*time.Second, valid)
	if redacted(t, alice.Client, social, invalid) {
		t.Fatal("a number with a wrong check digit was taken for an NHS number")
	}

	// The sender is told privately, and the number is not repeated.
	var dm string
	testenv.Eventually(t, 20*time.Second, "a direct chat with alice", func() (bool, string) {
		v, ok, err := tr.Store.KV(ctx, "dm:"+alice.UserID.String())
		dm = v
		return ok && err == nil, ""
	})
	if _, err := alice.JoinRoomByID(ctx, id.RoomID(dm)); err != nil {
		t.Fatalf("join the direct chat: %v", err)
	}
	notice := testenv.WaitForNotice(t, alice.Client, id.RoomID(dm), bot, "because it contained an NHS number", "clinical room")
	if strings.Contains(notice, "5919") || strings.Contains(notice, "943") {
		t.Fatalf("the notice repeats the number: %q", notice)
	}

	// In a clinical room, patient information belongs.
	clinical := tr.ClinicalRoom(t, alice.Client)
	kept := testenv.SendText(t, alice.Client, clinical, "Mrs Jones 943 476 5919 for theatre")
	alice.waitFor(t, clinical, alice.UserID, "for theatre")
	testenv.Say(t, alice.Client, clinical, "!policy status")
	alice.waitFor(t, clinical, bot, "This room is clinical")
	if redacted(t, alice.Client, clinical, kept) {
		t.Fatal("an NHS number was deleted from a clinical room")
	}

	// A room's name is shown in invitations: cleaned in any room.
	testenv.SetState(t, alice.Client, clinical, "m.room.name", map[string]any{"name": "Bed 4 943-476-5919"})
	testenv.WaitForState(t, alice.Client, clinical, "m.room.name", "name", "Bed 4 [NHS number removed]")
	alice.waitFor(t, clinical, bot, "I took an NHS number out of this room's name")
}
