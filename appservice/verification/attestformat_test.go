package verification

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

// signedAttestation is what trust B's bot publishes, signed with its master key.
func signedAttestation(t *testing.T, p publishedAttestation, signer id.UserID, priv ed25519.PrivateKey) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	pub := base64.RawStdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	signed, err := gomatrixserverlib.SignJSON(signer.String(), gomatrixserverlib.KeyID("ed25519:"+pub), priv, raw)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestCheckPublishedAttestation(t *testing.T) {
	const server = "b.nhs.uk"
	bot := id.UserID("@caldicott:b.nhs.uk")
	_, botKey, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	botMaster := base64.RawStdEncoding.EncodeToString(botKey.Public().(ed25519.PublicKey))
	memberKey := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	good := publishedAttestation{UserID: "@dora:b.nhs.uk", MasterKey: memberKey, Method: "emoji verification", AttestedAt: 1, Trust: "Trust B"}
	with := func(change func(p *publishedAttestation)) publishedAttestation {
		p := good
		change(&p)
		return p
	}
	tamper := func(raw json.RawMessage) json.RawMessage {
		return json.RawMessage(strings.Replace(string(raw), memberKey, base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("x", 32))), 1))
	}
	tests := []struct {
		name     string
		raw      json.RawMessage
		stateKey string
		sender   id.UserID
		signer   string
		wantErr  string
	}{
		{"valid", signedAttestation(t, good, bot, botKey), "_@dora:b.nhs.uk", bot, botMaster, ""},
		{"published by someone on another server", signedAttestation(t, good, "@caldicott:c.nhs.uk", botKey), "@dora:b.nhs.uk", "@caldicott:c.nhs.uk", botMaster, "not on b.nhs.uk"},
		{"vouching for another trust's staff", signedAttestation(t, with(func(p *publishedAttestation) { p.UserID = "@eve:c.nhs.uk" }), bot, botKey), "_@eve:c.nhs.uk", bot, botMaster, "may only vouch for its own staff"},
		{"state key is the bare user ID", signedAttestation(t, good, bot, botKey), "@dora:b.nhs.uk", bot, botMaster, "under state key"},
		{"state key names someone else", signedAttestation(t, good, bot, botKey), "_@fred:b.nhs.uk", bot, botMaster, "under state key"},
		{"signed by another key", signedAttestation(t, good, bot, otherKey), "_@dora:b.nhs.uk", bot, botMaster, "does not verify"},
		{"master key changed after signing", tamper(signedAttestation(t, good, bot, botKey)), "_@dora:b.nhs.uk", bot, botMaster, "does not verify"},
		{"unsigned", func() json.RawMessage { r, _ := json.Marshal(good); return r }(), "_@dora:b.nhs.uk", bot, botMaster, "does not verify"},
		{"attested key is not a key", signedAttestation(t, with(func(p *publishedAttestation) { p.MasterKey = "not-a-key" }), bot, botKey), "_@dora:b.nhs.uk", bot, botMaster, "not an ed25519 key"},
		{"bot without a master key", signedAttestation(t, good, bot, botKey), "_@dora:b.nhs.uk", bot, "", "no valid master key"},
		{"malformed", json.RawMessage(`{"user_id": 5}`), "_@dora:b.nhs.uk", bot, botMaster, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := checkPublishedAttestation(tt.raw, tt.stateKey, tt.sender, server, tt.signer)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr == "" && p.MasterKey != memberKey:
				t.Fatalf("accepted the wrong key %q", p.MasterKey)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkCheckPublishedAttestation: accepting one attestation from
// another trust (parse, rules, ed25519 signature over canonical JSON).
func BenchmarkCheckPublishedAttestation(b *testing.B) {
	t := &testing.T{}
	bot := id.UserID("@caldicott:b.nhs.uk")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	master := base64.RawStdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	raw := signedAttestation(t, publishedAttestation{UserID: "@dora:b.nhs.uk", MasterKey: master, Method: "emoji verification", AttestedAt: 1, Trust: "Trust B"}, bot, key)
	for b.Loop() {
		if _, err := checkPublishedAttestation(raw, "_@dora:b.nhs.uk", bot, "b.nhs.uk", master); err != nil {
			b.Fatal(err)
		}
	}
}
