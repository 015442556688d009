//go:build goolm

package appservice_test

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

type jsVerification struct {
	Shown     []string `json:"shown"`
	BotPosted bool     `json:"bot_posted"`
	Result    string   `json:"result"`
	Reason    string   `json:"reason"`
}

// verifyWithJS runs e2e/jssdk/verify-with-bot.mjs for a user in room.
func verifyWithJS(t *testing.T, dir string, tr *trust.Trust, user string, room string, args ...string) jsVerification {
	t.Helper()
	argv := append([]string{"verify-with-bot.mjs", tr.HS.ClientURL, user, "correct horse battery " + user, room, tr.BotID().String()}, args...)
	cmd := exec.Command("node", argv...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Logf("stderr: %s", ee.Stderr)
		}
		t.Fatalf("matrix-js-sdk: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res jsVerification
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("matrix-js-sdk printed %q: %v", out, err)
	}
	return res
}

// encryptedDM is a direct chat with the bot, encrypted as Element makes them.
func encryptedDM(t *testing.T, tr *trust.Trust, cli *mautrix.Client) string {
	t.Helper()
	return testenv.RoomWithBot(t, cli, tr.BotID(), &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true,
		InitialState: []*event.Event{{Type: event.StateEncryption, Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: "m.megolm.v1.aes-sha2"}}}},
	}).String()
}

// TestElementEngineEmojiVerification: a clinician on matrix-js-sdk's Rust
// crypto (Element Web's engine) verifies with the bot by emoji, in an
// encrypted direct chat, both ways Element offers: answering the bot's
// request after "!policy verify", and starting from the bot's profile. The
// emoji the client shows are the ones the bot posts; a "They don't match"
// records nothing. Both directly and through the gatekeeper.
func TestElementEngineEmojiVerification(t *testing.T) {
	dir := jsSDKDir(t)
	for _, front := range fronts {
		t.Run(front.name, func(t *testing.T) { emojiVerification(t, dir, front.gatekeeper) })
	}
}

// emojiVerification is the scenario, with the clients talking to Dendrite
// directly or through the gatekeeper (the bot always directly).
func emojiVerification(t *testing.T, dir string, gatekeeper bool) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Encryption: true, Gatekeeper: gatekeeper})
	tr.Start(t)
	for _, tc := range []struct {
		user, mode, answer string
		attested           bool
	}{
		{"bob", "command", "mismatch", false},
		{"alice", "command", "", true},
		{"carol", "dm", "", true},
	} {
		t.Run(tc.user+" "+tc.mode+" "+tc.answer, func(t *testing.T) {
			cli := tr.HS.RegisterUser(t, tc.user, false)
			dm := encryptedDM(t, tr, cli)
			args := []string{tc.mode}
			if tc.answer != "" {
				args = append(args, tc.answer)
			}
			start := time.Now()
			res := verifyWithJS(t, dir, tr, tc.user, dm, args...)
			t.Logf("%s: %+v in %s", tc.user, res, time.Since(start).Round(time.Millisecond))
			if len(res.Shown) != 7 || !res.BotPosted {
				t.Fatalf("the client showed %v; bot posted the same: %v (%s)", res.Shown, res.BotPosted, res.Reason)
			}
			want := "verified"
			if !tc.attested {
				want = "cancelled"
			}
			if res.Result != want {
				t.Fatalf("result %q (%s), want %q", res.Result, res.Reason, want)
			}
			var a store.Attestation
			var err error
			testenv.Eventually(t, 10*time.Second, "the attestation to be recorded", func() (bool, string) {
				a, err = tr.Store.AttestationOf(ctx, cli.UserID.String())
				return !tc.attested || err == nil, ""
			})
			if !tc.attested {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("attestation after a mismatch: %+v %v", a, err)
				}
				return
			}
			if err != nil || a.Method != "emoji verification" || a.AttestedBy != tr.BotID().String() || a.MasterKey == "" {
				t.Fatalf("attestation %+v %v", a, err)
			}
		})
	}
	// The verification's events are encrypted room events the client
	// sends and long-polls for: through the gatekeeper when it is there.
	if gatekeeper && (tr.Gatekeeper.Received("PUT", "/send/m.room.encrypted/") == 0 || tr.Gatekeeper.Received("GET", "/sync", "timeout=30000") == 0) {
		t.Error("the clients' verification traffic did not pass the gatekeeper")
	}
}
