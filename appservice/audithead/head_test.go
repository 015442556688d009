package audithead

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix/id"
)

const bot = id.UserID("@caldicott:trust-a")

func signedHead(t *testing.T, h Head, priv ed25519.PrivateKey, keyID string) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := gomatrixserverlib.SignJSON(bot.String(), gomatrixserverlib.KeyID(keyID), priv, raw)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestCheckSigned(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	master := base64.RawStdEncoding.EncodeToString(pub)
	otherPub, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	head := Head{Seq: 12, Hash: strings.Repeat("ab", 32), Trust: "Trust A", PublishedAt: 1795441000000}
	good := signedHead(t, head, priv, "ed25519:"+master)

	tampered := map[string]any{}
	_ = json.Unmarshal(good, &tampered)
	tampered["seq"] = 11
	tamperedRaw, _ := json.Marshal(tampered)

	tests := []struct {
		name   string
		raw    json.RawMessage
		sender id.UserID
		key    string
		want   string
	}{
		{"signed by the bot's master key", good, bot, master, ""},
		{"set by someone else", good, "@ig:trust-a", master, "not by Caldicott's bot"},
		{"content changed after signing", tamperedRaw, bot, master, "does not verify"},
		{"signed by another key", signedHead(t, head, otherPriv, "ed25519:"+master), bot, master, "does not verify"},
		{"checked against another key", good, bot, base64.RawStdEncoding.EncodeToString(otherPub), "does not verify"},
		{"emptied", json.RawMessage(`{}`), bot, master, "names no audit entry"},
		{"unsigned", json.RawMessage(`{"seq": 3, "hash": "` + strings.Repeat("cd", 32) + `"}`), bot, master, "not signed"},
		{"malformed", json.RawMessage(`{"seq": "x"}`), bot, master, "malformed"},
		{"no master key", good, bot, "", "no valid cross-signing master key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := CheckSigned(tt.raw, tt.sender, bot, tt.key)
			if tt.want == "" {
				if err != nil || h.Seq != 12 || h.Hash != head.Hash {
					t.Fatalf("refused a good head: %v %+v", err, h)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
