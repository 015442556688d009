//go:build goolm

package appservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestNoPersonalDataInLogsEncrypted: the same check as deployed, with the
// bot's encryption device on, at trace: the bot decrypts a command carrying
// a reason and a message carrying an NHS number, and encrypts notices that
// name people; none of the plaintext reaches the log.
func TestNoPersonalDataInLogsEncrypted(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.LogLevel = zerolog.TraceLevel
	tr.Start(t)
	bot := tr.BotID()

	nhs := plantedNHSNumber(t)
	planted := map[string]string{
		"directory name":      "Perpetua Dunstanville-Okonjo",
		"removal reason":      "plantedremoval raised by Mr Quiggins",
		"NHS number":          nhs,
		"NHS number (digits)": strings.ReplaceAll(nhs, " ", ""),
		"message text":        "plantedmessage Mrs Honeysett",
	}
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	dave := newEncryptedClient(t, tr.HS.RegisterUser(t, "dave", false))
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Team: "Ward 7", Status: "active", Source: "csv"},
		{UserID: dave.UserID.String(), Name: planted["directory name"], Role: "Staff Nurse", Team: "Ward 7", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}

	// An encrypted clinical room; the bot's notice names dave. (Right after
	// hardening it may still go out unencrypted: the encryption device learns
	// that the room is encrypted from its /sync.)
	room := tr.ClinicalRoom(t, alice.Client, dave.Client)
	alice.waitFor(t, room, bot, planted["directory name"])
	testenv.Eventually(t, 20*time.Second, "alice's client to see the room as encrypted", func() (bool, string) {
		enc, _ := alice.StateStore.IsEncrypted(ctx, room)
		return enc, ""
	})
	// An encrypted command with a reason, decrypted by the bot.
	removal := testenv.SendText(t, alice.Client, room, "!policy remove "+dave.UserID.String()+" "+planted["removal reason"])
	waitGone(t, alice.Client, room, dave.UserID, 20*time.Second)
	alice.waitFor(t, room, bot, "I have removed "+dave.UserID.String())

	// An encrypted social room: the guard reads the number and removes it.
	social := testenv.RoomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat",
		InitialState: []*event.Event{{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}}}}})
	testenv.SetPower(t, alice.Client, social, bot, 50)
	testenv.Say(t, alice.Client, social, "!policy classify social")
	alice.waitFor(t, social, bot, "social")
	withNHS := testenv.SendText(t, alice.Client, social, planted["message text"]+" "+nhs+" needs a bed")
	waitRedacted(t, alice.Client, social, 30*time.Second, withNHS)
	tr.Stop(t)

	checkLogs(t, tr, planted, room.String(), social.String(), removal.String(), withNHS.String(), dave.UserID.String())
}
