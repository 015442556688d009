//go:build goolm

package appservice_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// encryptedClient gives a test user an encryption device (mautrix-go crypto,
// pure-Go goolm) that syncs, and collects the messages it decrypts.
type encryptedClient struct {
	*mautrix.Client
	mu       sync.Mutex
	received []*event.Event
}

func newEncryptedClient(t *testing.T, cli *mautrix.Client) *encryptedClient {
	t.Helper()
	db, err := dbutil.NewWithDialect("file:"+filepath.Join(t.TempDir(), "crypto.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate", "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("test pickle key"), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := helper.Init(ctx); err != nil {
		t.Fatalf("crypto init: %v", err)
	}
	cli.Crypto = helper
	ec := &encryptedClient{Client: cli}
	cli.Syncer.(mautrix.ExtensibleSyncer).OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		ec.mu.Lock()
		ec.received = append(ec.received, evt)
		ec.mu.Unlock()
	})
	go func() { _ = cli.SyncWithContext(ctx) }()
	return ec
}

func (ec *encryptedClient) waitFor(t *testing.T, roomID id.RoomID, from id.UserID, substr string) *event.Event {
	t.Helper()
	var found *event.Event
	testenv.Eventually(t, 30*time.Second, "a decrypted message containing "+substr, func() (bool, string) {
		ec.mu.Lock()
		defer ec.mu.Unlock()
		for _, evt := range ec.received {
			msg := evt.Content.AsMessage()
			if evt.RoomID == roomID && evt.Sender == from && strings.Contains(msg.Body, substr) {
				found = evt
				return true, ""
			}
		}
		return false, ""
	})
	return found
}

// TestCommandsInEncryptedRoom: in a hardened (so encrypted) clinical room, a
// clinician's client sends an encrypted command; the bot's own encryption
// device decrypts it and answers, encrypted.
func TestCommandsInEncryptedRoom(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.Start(t)
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	room := tr.ClinicalRoom(t, alice.Client)
	testenv.Eventually(t, 20*time.Second, "alice's client to see the room as encrypted", func() (bool, string) {
		enc, _ := alice.StateStore.IsEncrypted(ctx, room)
		return enc, ""
	})
	resp, err := alice.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy status"})
	if err != nil {
		t.Fatalf("send encrypted command: %v", err)
	}
	var raw map[string]any
	if err := alice.StateEvent(ctx, room, event.StateEncryption, "", &raw); err != nil || raw["algorithm"] != "m.megolm.v1.aes-sha2" {
		t.Fatalf("room not encrypted: %v %v", raw, err)
	}
	if sent := testenv.EventOf(t, alice.Client, room, resp.EventID); sent.Type != event.EventEncrypted {
		t.Fatalf("the command was not sent encrypted: %v", sent)
	}
	reply := alice.waitFor(t, room, bot, "This room is clinical")
	if reply.Mautrix.WasEncrypted != true {
		t.Error("the bot's reply in an encrypted room was not encrypted")
	}
}
