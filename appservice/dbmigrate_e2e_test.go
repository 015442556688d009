//go:build goolm

package appservice_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
	"github.com/caldicott/caldicott/store/dbcopy"
)

// TestMigrateToPostgresKeepsTheBotsIdentity: a trust trials Caldicott on
// SQLite — a member verified by emoji, a room under legal hold, encrypted
// commands answered — then stops it, runs db migrate and starts it on
// PostgreSQL. The bot is the same device with the same cross-signing
// identity, the audit log verifies, the member still counts as verified
// (and stays in the room), and the bot still reads her encrypted commands.
func TestMigrateToPostgresKeepsTheBotsIdentity(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: "verification: {new_member_grace: 2s, check_interval: 1s, prompt: disabled}\n"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	carol := newVerifier(t, tr.HS.RegisterUser(t, "carol", false))
	room := tr.ClinicalRoom(t, alice, carol.Client)
	waitGone(t, alice, room, carol.UserID, 30*time.Second)
	dm := testenv.RoomWithBot(t, carol.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})
	carol.verifyMatching(t, dm, bot)
	testenv.WaitForNotice(t, carol.Client, dm, bot, "✅ "+carol.UserID.String()+": identity", "confirmed by emoji verification")
	testenv.WaitMembership(t, alice, room, carol.UserID, "invite")
	if _, err := carol.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	before := askStatus(t, carol, room, bot)
	if err := tr.Store.AddLegalHold(ctx, store.LegalHold{RoomID: room.String(), Reason: "coroner's inquest", HeldBy: "@ig:" + tr.HS.ServerName}); err != nil {
		t.Fatal(err)
	}
	deviceBefore, masterBefore := botDevice(t, tr.Store), botMasterKey(t, tr)
	if deviceBefore == "" || masterBefore == "" {
		t.Fatalf("the bot has no device (%q) or identity (%q) before the move", deviceBefore, masterBefore)
	}

	pg := testenv.Postgres(t)
	if _, err := dbcopy.Copy(ctx, dbcopy.Options{From: tr.Config.Database.URI, To: pg}); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("db migrate while Caldicott runs: %v", err)
	}
	tr.Stop(t)
	rep, err := dbcopy.Copy(ctx, dbcopy.Options{From: tr.Config.Database.URI, To: pg})
	if err != nil {
		t.Fatalf("db migrate: %v", err)
	}
	sqlitePath := tr.Config.Database.URI
	tr.Config.Database.Type, tr.Config.Database.URI = store.Postgres, pg
	tr.Start(t)
	if _, err := store.Open(ctx, store.SQLite, sqlitePath, 1); !errors.Is(err, store.ErrMoved) {
		t.Errorf("opening the trial's SQLite database after the move: %v", err)
	}

	if got := botDevice(t, tr.Store); got != deviceBefore {
		t.Errorf("the bot's device is %q on PostgreSQL, was %q", got, deviceBefore)
	}
	if got := botMasterKey(t, tr); got != masterBefore {
		t.Errorf("the bot's master key is %q on PostgreSQL, was %q", got, masterBefore)
	}
	if log := trust.Tail(tr.LogPath, 1<<20); strings.Contains(log, "no cross-signing identity") {
		t.Errorf("the bot lost its cross-signing identity on PostgreSQL:\n%s", log)
	}
	r, err := tr.Store.VerifyAudit(ctx)
	if err != nil || len(r.Problems) > 0 || r.Entries < rep.Audit.Entries {
		t.Errorf("audit verify on PostgreSQL: %d entries (copied %d), %v %v", r.Entries, rep.Audit.Entries, r.Problems, err)
	}
	if _, err := tr.Store.LegalHoldOf(ctx, room.String()); err != nil {
		t.Errorf("the legal hold after the move: %v", err)
	}
	testenv.Say(t, carol.Client, dm, "!policy verification "+carol.UserID.String())
	testenv.WaitForNotice(t, carol.Client, dm, bot, carol.UserID.String()+": ✅ verified", "(emoji verification)")
	// Several verification checks later she is still in the clinical room.
	time.Sleep(5 * time.Second)
	if !isMember(t, alice, room, carol.UserID) {
		t.Error("the verified member was removed after the move")
	}
	askStatus(t, carol, room, bot)
	// History from before the move still opens with the room keys the bot
	// kept (as caldicott export reads it).
	keys := verification.OpenStoredKeys(tr.Store.DB(), tr.Config.AppService.ASToken)
	if _, body, err := keys.Decrypt(ctx, testenv.EventOf(t, carol.Client, room, before)); err != nil || !strings.Contains(string(body), "!policy status") {
		t.Errorf("the command sent before the move, decrypted with the keys on PostgreSQL: %s %v", body, err)
	}
}

// askStatus sends an encrypted !policy status and waits for the bot's new
// (decrypted) answer.
func askStatus(t *testing.T, v *verifier, room id.RoomID, bot id.UserID) id.EventID {
	t.Helper()
	v.mu.Lock()
	seen := len(v.received)
	v.mu.Unlock()
	resp, err := v.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy status"})
	if err != nil {
		t.Fatalf("send encrypted command: %v", err)
	}
	if sent := testenv.EventOf(t, v.Client, room, resp.EventID); sent.Type != event.EventEncrypted {
		t.Fatalf("the command was not sent encrypted: %v", sent)
	}
	testenv.Eventually(t, 30*time.Second, "the bot's answer to an encrypted command", func() (bool, string) {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, evt := range v.received[seen:] {
			msg := evt.Content.AsMessage()
			if evt.RoomID == room && evt.Sender == bot && msg.RelatesTo.GetReplyTo() == resp.EventID {
				t.Logf("the bot answered the encrypted command (encrypted: %v): %.80q", evt.Mautrix.WasEncrypted, msg.Body)
				return true, ""
			}
		}
		return false, ""
	})
	return resp.EventID
}

// botDevice is the device of the bot's encryption account in the store.
func botDevice(t *testing.T, st *store.Store) string {
	t.Helper()
	var dev string
	if err := st.DB().QueryRow(ctx, `SELECT device_id FROM crypto_account`).Scan(&dev); err != nil {
		t.Fatalf("the bot's device: %v", err)
	}
	return dev
}
