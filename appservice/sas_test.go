//go:build goolm

package appservice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/crypto/verificationhelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// verifier is a clinician's client with mautrix-go crypto, its own
// cross-signing identity and mautrix-go's verification helper: the member's
// side of an emoji verification, driven by the test as a person would.
type verifier struct {
	*encryptedClient
	helper    *verificationhelper.VerificationHelper
	requested chan id.VerificationTransactionID
	ready     chan id.VerificationTransactionID
	shown     chan string
	done      chan id.VerificationTransactionID
	cancelled chan string
}

func newVerifier(t *testing.T, cli *mautrix.Client) *verifier {
	t.Helper()
	v := &verifier{
		encryptedClient: newEncryptedClient(t, cli),
		requested:       make(chan id.VerificationTransactionID, 4),
		ready:           make(chan id.VerificationTransactionID, 4),
		shown:           make(chan string, 4),
		done:            make(chan id.VerificationTransactionID, 4),
		cancelled:       make(chan string, 4),
	}
	mach := cli.Crypto.(*cryptohelper.CryptoHelper).Machine()
	keys, err := mach.GenerateCrossSigningKeys()
	if err != nil {
		t.Fatal(err)
	}
	if err := mach.PublishCrossSigningKeys(ctx, keys, nil); err != nil {
		t.Fatalf("publish cross-signing: %v", err)
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		t.Fatalf("sign own device: %v", err)
	}
	v.helper = verificationhelper.NewVerificationHelper(cli, mach, nil, v, false, false, true)
	if err := v.helper.Init(ctx); err != nil {
		t.Fatal(err)
	}
	return v
}

// The helper calls these with its lock held: they only pass news on.
func (v *verifier) VerificationRequested(_ context.Context, txn id.VerificationTransactionID, _ id.UserID, _ id.DeviceID) {
	v.requested <- txn
}
func (v *verifier) VerificationReady(_ context.Context, txn id.VerificationTransactionID, _ id.DeviceID, _, _ bool, _ *verificationhelper.QRCode) {
	v.ready <- txn
}
func (v *verifier) VerificationCancelled(_ context.Context, _ id.VerificationTransactionID, code event.VerificationCancelCode, reason string) {
	v.cancelled <- string(code) + ": " + reason
}
func (v *verifier) VerificationDone(_ context.Context, txn id.VerificationTransactionID, _ event.VerificationMethod) {
	v.done <- txn
}
func (v *verifier) ShowSAS(_ context.Context, _ id.VerificationTransactionID, emojis []rune, names []string, _ []int) {
	parts := make([]string, len(emojis))
	for i := range emojis {
		parts[i] = string(emojis[i]) + " " + names[i]
	}
	v.shown <- strings.Join(parts, ", ")
}

func receive[T any](t *testing.T, v *verifier, ch chan T, what string) T {
	t.Helper()
	select {
	case x := <-ch:
		return x
	case reason := <-v.cancelled:
		t.Fatalf("verification cancelled while waiting for %s: %s", what, reason)
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s within 30s", what)
	}
	var zero T
	return zero
}

// toEmoji asks the bot to verify and runs the flow up to both sides
// showing their emoji; it returns the transaction and what the member sees,
// having checked the bot posted the same emoji.
func (v *verifier) toEmoji(t *testing.T, room id.RoomID, bot id.UserID) (id.VerificationTransactionID, string) {
	t.Helper()
	testenv.Say(t, v.Client, room, "!policy verify")
	txn := receive(t, v, v.requested, "the bot's verification request")
	shown := v.answer(t, txn)
	testenv.WaitForNotice(t, v.Client, room, bot, shown)
	return txn, shown
}

// answer accepts a request and starts the emoji, as a person clicking
// "Verify by emoji" in Element; it returns the emoji shown.
func (v *verifier) answer(t *testing.T, txn id.VerificationTransactionID) string {
	t.Helper()
	if err := v.helper.AcceptVerification(ctx, txn); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if err := v.helper.StartSAS(ctx, txn); err != nil {
		t.Fatalf("start SAS: %v", err)
	}
	return receive(t, v, v.shown, "emoji")
}

// verifyMatching runs a verification to the end, pressing "They match".
func (v *verifier) verifyMatching(t *testing.T, room id.RoomID, bot id.UserID) {
	t.Helper()
	txn, _ := v.toEmoji(t, room, bot)
	if err := v.helper.ConfirmSAS(ctx, txn); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	receive(t, v, v.done, "verification done")
}

// TestEmojiVerificationWithBot: a clinician suspended for want of the
// trust's confirmation verifies with the bot by emoji from a mautrix-go
// client. A mismatch leaves nothing attested; a match is recorded, the bot
// signs their master key with its user-signing key, and they are invited
// back to the clinical room.
func TestEmojiVerificationWithBot(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: "verification: {new_member_grace: 2s, check_interval: 1s, prompt: disabled}\n"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	carol := newVerifier(t, tr.HS.RegisterUser(t, "carol", false))
	room := tr.ClinicalRoom(t, alice, carol.Client)
	waitGone(t, alice, room, carol.UserID, 30*time.Second)
	dm := testenv.RoomWithBot(t, carol.Client, bot, &mautrix.ReqCreateRoom{Preset: "private_chat", IsDirect: true})

	t.Run("a mismatch leaves nothing attested", func(t *testing.T) {
		txn, _ := carol.toEmoji(t, dm, bot)
		if err := carol.helper.CancelVerification(ctx, txn, event.VerificationCancelCodeSASMismatch, "the emoji differ"); err != nil {
			t.Fatal(err)
		}
		testenv.WaitForNotice(t, carol.Client, dm, bot, "The verification of "+carol.UserID.String()+" was cancelled: the codes did not match. Nothing was recorded")
		testenv.Say(t, carol.Client, dm, "!policy verification "+carol.UserID.String())
		testenv.WaitForNotice(t, carol.Client, dm, bot, carol.UserID.String()+": ⚠ not yet confirmed by the trust")
		if isMember(t, alice, room, carol.UserID) {
			t.Error("readmitted after a cancelled verification")
		}
	})

	t.Run("a match is recorded, signed and readmits", func(t *testing.T) {
		start := time.Now()
		carol.verifyMatching(t, dm, bot)
		testenv.WaitForNotice(t, carol.Client, dm, bot, "✅ "+carol.UserID.String()+": identity", "confirmed by emoji verification")
		t.Logf("emoji verification from command to confirmation: %s", time.Since(start).Round(time.Millisecond))
		testenv.WaitMembership(t, alice, room, carol.UserID, "invite")
		testenv.Say(t, carol.Client, dm, "!policy verification "+carol.UserID.String())
		testenv.WaitForNotice(t, carol.Client, dm, bot, carol.UserID.String()+": ✅ verified", "(emoji verification)")

		// The bot's user-signing key signed carol's master key (Dendrite
		// shows that signature to the signer only, so ask as the bot).
		var keys struct {
			MasterKeys map[id.UserID]struct {
				Signatures map[id.UserID]map[string]string `json:"signatures"`
			} `json:"master_keys"`
		}
		q := mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{carol.UserID: nil}}
		botCli := tr.BotClient(t)
		if _, err := botCli.MakeRequest(ctx, http.MethodPost, botCli.BuildClientURL("v3", "keys", "query"), &q, &keys); err != nil {
			t.Fatal(err)
		}
		if sigs := keys.MasterKeys[carol.UserID].Signatures[bot]; len(sigs) != 1 {
			raw, _ := json.Marshal(keys)
			t.Fatalf("carol's master key not signed by the bot: %s", raw)
		}
	})

	t.Run("a request from the member's app alone is declined with what to do", func(t *testing.T) {
		// Without a room the bot could not show its emoji.
		if _, err := carol.helper.StartVerification(ctx, bot); err != nil {
			t.Fatal(err)
		}
		select {
		case reason := <-carol.cancelled:
			if !strings.Contains(reason, "!policy verify") {
				t.Fatalf("declined with %q", reason)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the bot did not answer a to-device request")
		}
	})

	t.Run("the bot keeps its identity across a restart", func(t *testing.T) {
		before := botMasterKey(t, tr)
		tr.Stop(t)
		tr.Start(t)
		if after := botMasterKey(t, tr); after != before || after == "" {
			t.Fatalf("bot master key %q before the restart, %q after", before, after)
		}
		// Its user-signing key came back too: verifying again still works.
		carol.verifyMatching(t, dm, bot)
	})

}

// TestVerificationPrompt: a clinician of the trust who joins a clinical
// room without a confirmed identity is warned and, unasked, sent a
// verification request; the bot's emoji appear (encrypted) in the room, and
// confirming them records her identity.
func TestVerificationPrompt(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, ConfigYAML: "verification: {check_interval: 1s}\n"})
	tr.Start(t)
	bot := tr.BotID()
	alice := tr.HS.RegisterUser(t, "alice", false)
	carol := newVerifier(t, tr.HS.RegisterUser(t, "carol", false))
	room := tr.ClinicalRoom(t, alice, carol.Client)
	txn := receive(t, carol, carol.requested, "the bot's prompt")
	shown := carol.answer(t, txn)
	carol.waitFor(t, room, bot, carol.UserID.String()+": Their identity has not been confirmed by their trust yet")
	carol.waitFor(t, room, bot, shown)
	if err := carol.helper.ConfirmSAS(ctx, txn); err != nil {
		t.Fatal(err)
	}
	receive(t, carol, carol.done, "verification done")
	carol.waitFor(t, room, bot, "✅ "+carol.UserID.String()+": identity")
	testenv.Eventually(t, 10*time.Second, "the attestation", func() (bool, string) {
		a, err := tr.Store.AttestationOf(ctx, carol.UserID.String())
		return err == nil && a.Method == "emoji verification", fmt.Sprint(err)
	})
}

// botMasterKey is the bot's published cross-signing master key.
func botMasterKey(t *testing.T, tr *trust.Trust) string {
	t.Helper()
	var keys struct {
		MasterKeys map[id.UserID]struct {
			Keys map[string]string `json:"keys"`
		} `json:"master_keys"`
	}
	q := mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{tr.BotID(): nil}}
	cli := tr.BotClient(t)
	if _, err := cli.MakeRequest(ctx, http.MethodPost, cli.BuildClientURL("v3", "keys", "query"), &q, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.MasterKeys[tr.BotID()].Keys {
		return k
	}
	return ""
}
