//go:build goolm

package appservice_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// TestCommandWhoseKeyArrivesLate: alice's device encrypts a command with a
// new Megolm session but shares its key with the bot's device only later,
// after the bot's 10 s wait has run out. The bot keeps the message and,
// once the key comes, answers a command under 2 minutes old; an older one
// is not run, and alice is told to type it again.
func TestCommandWhoseKeyArrivesLate(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true})
	tr.Start(t)
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	room := tr.ClinicalRoom(t, alice.Client)
	testenv.Eventually(t, 20*time.Second, "alice's client to see the room as encrypted", func() (bool, string) {
		enc, _ := alice.StateStore.IsEncrypted(ctx, room)
		return enc, ""
	})
	mach := alice.Crypto.(*cryptohelper.CryptoHelper).Machine()
	// The bot's device asks the sender for a key it lacks; mautrix-go
	// would answer m.unauthorised (a withheld key, given up at once),
	// Element does not answer another user's device at all. Like Element:
	mach.AllowKeyShare = func(context.Context, *id.Device, event.RequestedKeyInfo) *crypto.KeyShareRejection {
		return &crypto.KeyShareRejectNoResponse
	}
	metrics := tr.Config.AppService.Address + "/metrics"
	tests := []struct {
		name     string
		keyAfter time.Duration // after the bot began to keep it
		answer   string
	}{
		// First, so an answer from running it cannot be mistaken for the other's.
		{"older than 2 minutes: not run", 2*time.Minute + 5*time.Second, "arrived while I could not read it"},
		{"under 2 minutes: answered", 15 * time.Second, "This room is clinical"},
	}
	for i, tt := range tests {
		encrypted, share := encryptUnshared(t, mach, room, &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy status"})
		if _, err := alice.SendMessageEvent(ctx, room, event.EventEncrypted, encrypted, mautrix.ReqSendEvent{DontEncrypt: true}); err != nil {
			t.Fatalf("%s: send the encrypted command: %v", tt.name, err)
		}
		testenv.Eventually(t, 30*time.Second, "the bot to keep the command for its key", func() (bool, string) {
			return strings.Contains(readMetrics(t, metrics), "caldicott_late_keys_waiting 1"), "waiting metric not 1"
		})
		time.Sleep(tt.keyAfter)
		if m := readMetrics(t, metrics); strings.Contains(m, `caldicott_events_ignored_total{reason="undecryptable"}`) {
			t.Fatalf("%s: the command was given up before its key came", tt.name)
		}
		share(bot)
		reply := alice.waitFor(t, room, bot, tt.answer)
		if !reply.Mautrix.WasEncrypted {
			t.Errorf("%s: the bot's late answer in an encrypted room was not encrypted", tt.name)
		}
		m := readMetrics(t, metrics)
		for _, want := range []string{"caldicott_late_keys_waiting 0", fmt.Sprintf("caldicott_late_keys_decrypted_total %d", i+1)} {
			if !strings.Contains(m, want) {
				t.Errorf("%s: metrics lack %q", tt.name, want)
			}
		}
		if i == 0 && alice.saw(room, bot, "This room is clinical") {
			t.Errorf("%s: the command was run", tt.name)
		}
	}
}

// encryptUnshared encrypts content with a new outbound Megolm session of
// the machine's that nobody has been given the key of yet; share sends the
// key (from the message's index) to a user's devices later, as a sender's
// device does when it learns of them late.
func encryptUnshared(t *testing.T, mach *crypto.OlmMachine, room id.RoomID, content *event.MessageEventContent) (*event.EncryptedEventContent, func(id.UserID)) {
	t.Helper()
	sess, err := crypto.NewOutboundGroupSession(room, &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1})
	if err != nil {
		t.Fatal(err)
	}
	key := &event.RoomKeyEventContent{Algorithm: id.AlgorithmMegolmV1, RoomID: room, SessionID: sess.ID(), SessionKey: sess.Internal.Key()}
	sess.Shared = true // lets it encrypt, though it was shared with nobody
	if err := mach.CryptoStore.AddOutboundGroupSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	encrypted, err := mach.EncryptMegolmEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if encrypted.SessionID != sess.ID() {
		t.Fatalf("encrypted with session %s, not the unshared one", encrypted.SessionID)
	}
	// Later messages go in a session shared as usual.
	if err := mach.CryptoStore.RemoveOutboundGroupSession(ctx, room); err != nil {
		t.Fatal(err)
	}
	share := func(user id.UserID) {
		devices, err := mach.FetchKeys(ctx, []id.UserID{user}, true)
		if err != nil || len(devices[user]) == 0 {
			t.Fatalf("%s's devices: %v (%d)", user, err, len(devices[user]))
		}
		for _, dev := range devices[user] {
			if err := mach.SendEncryptedToDevice(ctx, dev, event.ToDeviceRoomKey, event.Content{Parsed: key}); err != nil {
				t.Fatalf("share the key with %s: %v", dev.DeviceID, err)
			}
		}
	}
	return encrypted, share
}

func readMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	return string(b)
}

// saw says whether alice's device has decrypted a message containing
// substr from from in room.
func (ec *encryptedClient) saw(roomID id.RoomID, from id.UserID, substr string) bool {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	for _, evt := range ec.received {
		if evt.RoomID == roomID && evt.Sender == from && strings.Contains(evt.Content.AsMessage().Body, substr) {
			return true
		}
	}
	return false
}
