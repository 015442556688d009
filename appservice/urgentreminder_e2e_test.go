//go:build goolm

package appservice_test

import (
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/policy"
)

// TestUrgentMessageReminder: with policy.urgent_reminder off (the
// default), an urgent message in a clinical room brings no reminder; on,
// it brings exactly one, encrypted, without the message's words; a second
// urgent message within the period brings none; an urgent message in a
// social room brings none. Each "none" is read after the bot has answered
// a later command in the same room, which it handles after the message.
func TestUrgentMessageReminder(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.Start(t) // the reminder is off by default
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	clinical := tr.ClinicalRoom(t, alice.Client)
	alice.waitEncrypted(t, clinical)

	// Off: nothing.
	alice.send(t, clinical, "Bed 4 deteriorating, NEWS 7, can the reg come")
	alice.answered(t, clinical, bot, alice.send(t, clinical, "!policy status"))
	alice.wantReminders(t, clinical, bot, 0)

	// On: one reminder, encrypted as the room is, quoting nothing.
	tr.Stop(t)
	tr.Config.Policy.UrgentReminder.Enabled = true
	tr.Start(t)
	alice.send(t, clinical, "Bed 6 deteriorating, sepsis screen positive")
	reminder := alice.waitFor(t, clinical, bot, policy.UrgentReminderText)
	if !reminder.Mautrix.WasEncrypted {
		t.Error("the reminder in an encrypted room was not encrypted")
	}
	if body := reminder.Content.AsMessage().Body; strings.Contains(body, "Bed 6") || strings.Contains(body, "sepsis") {
		t.Errorf("the reminder quotes the message: %q", body)
	}
	if msg := reminder.Content.AsMessage(); msg.MsgType != event.MsgNotice || msg.Mentions != nil && len(msg.Mentions.UserIDs) > 0 {
		t.Errorf("the reminder is not a quiet notice: %s, mentions %v", msg.MsgType, msg.Mentions)
	}
	entries, err := tr.Store.AuditForRoom(ctx, clinical.String(), 200)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range entries {
		if strings.Contains(e.Detail, `"rule":"`+policy.RuleUrgentReminder+`"`) {
			audited++
			if strings.Contains(e.Detail+e.Reason, "Bed 6") {
				t.Errorf("the audit log holds the message: %+v", e)
			}
		}
	}
	if audited != 1 {
		t.Errorf("%d audit entries for the reminder, want 1", audited)
	}

	// A second urgent message within the period: no second reminder.
	alice.send(t, clinical, "URGENT: bay 2 too")
	alice.answered(t, clinical, bot, alice.send(t, clinical, "!policy status"))
	alice.wantReminders(t, clinical, bot, 1)

	// A social room is not for patient care: never reminded.
	social := testenv.RoomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat",
		InitialState: []*event.Event{{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}}})
	testenv.SetPower(t, alice.Client, social, bot, 50)
	alice.waitEncrypted(t, social)
	alice.answered(t, social, bot, alice.send(t, social, "!policy classify social"))
	alice.send(t, social, "urgent: who has the cake knife")
	alice.answered(t, social, bot, alice.send(t, social, "!policy status"))
	alice.wantReminders(t, social, bot, 0)
}

// waitEncrypted waits until the client knows the room is encrypted, so
// what it sends next goes encrypted.
func (ec *encryptedClient) waitEncrypted(t *testing.T, roomID id.RoomID) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "the client to see the room as encrypted", func() (bool, string) {
		enc, _ := ec.StateStore.IsEncrypted(ctx, roomID)
		return enc, ""
	})
}

// send sends a text message (encrypted where the room is) and returns its ID.
func (ec *encryptedClient) send(t *testing.T, roomID id.RoomID, text string) id.EventID {
	t.Helper()
	resp, err := ec.SendMessageEvent(ctx, roomID, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: text})
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	return resp.EventID
}

// answered waits for the bot's reply to evtID.
func (ec *encryptedClient) answered(t *testing.T, roomID id.RoomID, bot id.UserID, evtID id.EventID) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, "the bot's reply to "+evtID.String(), func() (bool, string) {
		ec.mu.Lock()
		defer ec.mu.Unlock()
		for _, evt := range ec.received {
			if evt.RoomID == roomID && evt.Sender == bot && evt.Content.AsMessage().RelatesTo.GetReplyTo() == evtID {
				return true, ""
			}
		}
		return false, ""
	})
}

// wantReminders checks how many urgent reminders the client has seen in the room.
func (ec *encryptedClient) wantReminders(t *testing.T, roomID id.RoomID, bot id.UserID, want int) {
	t.Helper()
	ec.mu.Lock()
	defer ec.mu.Unlock()
	got := 0
	for _, evt := range ec.received {
		if evt.RoomID == roomID && evt.Sender == bot && evt.Content.AsMessage().Body == policy.UrgentReminderText {
			got++
		}
	}
	if got != want {
		t.Fatalf("%d urgent reminders in %s, want %d", got, roomID, want)
	}
}
