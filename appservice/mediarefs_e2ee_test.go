//go:build goolm

package appservice_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestEncryptedHeldFileKept: the case measured in issue 18 — an IG admin
// holds a room and a file is posted there (here encrypted, so its URI is
// only in the ciphertext: the bot's device reads it); a member posts an
// m.file naming the same URI in a social room whose retention is a few
// seconds. When that message expires the held room's file stays, while a
// file only the social room used goes.
func TestEncryptedHeldFileKept(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: `retention: {clinical: {default: 3s, min: 1s, max: 1h}, social: {default: 3s, min: 1s, max: 1h}, sweep_interval: 1s, batch: 100}` + "\n"})
	tr.Config.Retention.MediaPath = tr.HS.MediaPath()
	tr.Start(t)
	bot := tr.BotID()
	alice := newEncryptedClient(t, tr.HS.RegisterUser(t, "alice", false))
	ig, mgmt := tr.IGAdmin(t)
	held := tr.ClinicalRoom(t, alice.Client)
	testenv.Eventually(t, 20*time.Second, "alice's client to see the held room as encrypted", func() (bool, string) {
		enc, _ := alice.StateStore.IsEncrypted(ctx, held)
		return enc, ""
	})
	testenv.Say(t, ig, mgmt, "!policy hold on "+held.String()+" inquiry 7")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Legal hold placed on "+held.String())
	social := testenv.RoomWithBot(t, alice.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	testenv.SetPower(t, alice.Client, social, bot, 50)
	testenv.Say(t, alice.Client, social, "!policy classify social")
	testenv.WaitForNotice(t, alice.Client, social, bot, "social")

	evidence := bytes.Repeat([]byte("statement "), 300)
	up, err := alice.UploadBytes(ctx, evidence, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	inHeld := testenv.Send(t, alice.Client, held, map[string]any{"msgtype": "m.file", "body": "statement.pdf",
		"file": map[string]any{"url": up.ContentURI.CUString(), "v": "v2", "iv": "AAAAAAAAAAAAAAAAAAAAAA", "hashes": map[string]any{"sha256": "x"},
			"key": map[string]any{"kty": "oct", "alg": "A256CTR", "ext": true, "k": "x", "key_ops": []string{"encrypt", "decrypt"}}}}, event.EventMessage)
	if sent := testenv.EventOf(t, alice.Client, held, inHeld); sent.Type != event.EventEncrypted {
		t.Fatalf("the held room's message was not sent encrypted: %s", sent.Type)
	}
	onlySocialData := bytes.Repeat([]byte("rota "), 300)
	onlySocial, err := alice.UploadBytes(ctx, onlySocialData, "image/png")
	if err != nil {
		t.Fatal(err)
	}
	pointers := []id.EventID{
		testenv.Send(t, alice.Client, social, &event.MessageEventContent{MsgType: event.MsgFile, Body: "x.pdf", URL: up.ContentURI.CUString()}, event.EventMessage),
		testenv.Send(t, alice.Client, social, &event.MessageEventContent{MsgType: event.MsgImage, Body: "rota.png", URL: onlySocial.ContentURI.CUString()}, event.EventMessage),
	}
	if sent := testenv.EventOf(t, alice.Client, social, pointers[0]); sent.Type != event.EventMessage {
		t.Fatalf("the social room's message was not sent in the clear: %s", sent.Type)
	}
	waitRedacted(t, alice.Client, social, 30*time.Second, pointers...)
	testenv.Eventually(t, 90*time.Second, "every expired message's file to be judged", func() (bool, string) {
		left, err := tr.Store.DueMediaCandidates(ctx, time.Now().Add(time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(left) == 0, fmt.Sprint(len(left), " waiting")
	})
	if ok, how := downloads(alice.Client, onlySocial.ContentURI, onlySocialData); ok {
		t.Errorf("a file only the social room used was kept: %s", how)
	}
	if ok, how := downloads(alice.Client, up.ContentURI, evidence); !ok {
		t.Errorf("the held room's file was deleted: %s", how)
	}
}
