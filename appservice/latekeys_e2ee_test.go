//go:build goolm

package appservice_test

import (
	"context"
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
// new Megolm session but shares its key with the bot's device only 15 s
// later, after the bot's 10 s wait has run out. The bot keeps the message
// and, once the key comes, answers it (it is under 2 minutes old).
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
	encrypted, share := encryptUnshared(t, mach, room, &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy status"})
	if _, err := alice.SendMessageEvent(ctx, room, event.EventEncrypted, encrypted, mautrix.ReqSendEvent{DontEncrypt: true}); err != nil {
		t.Fatalf("send the encrypted command: %v", err)
	}
	metrics := tr.Config.AppService.Address + "/metrics"
	testenv.Eventually(t, 30*time.Second, "the bot to keep the command for its key", func() (bool, string) {
		m := readMetrics(t, metrics)
		return strings.Contains(m, "caldicott_late_keys_waiting 1"), "waiting metric not 1"
	})
	time.Sleep(15 * time.Second)
	if m := readMetrics(t, metrics); strings.Contains(m, `caldicott_events_ignored_total{reason="undecryptable"}`) {
		t.Fatalf("the command was given up before its key came:\n%s", m)
	}
	share(bot)
	reply := alice.waitFor(t, room, bot, "This room is clinical")
	if !reply.Mautrix.WasEncrypted {
		t.Error("the bot's late answer in an encrypted room was not encrypted")
	}
	m := readMetrics(t, metrics)
	for _, want := range []string{"caldicott_late_keys_waiting 0", "caldicott_late_keys_decrypted_total 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
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
