package verification

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// AttestationEventType is the state event in which a trust's Caldicott
// publishes an identity it confirmed, for the other trusts.
var AttestationEventType = event.Type{Type: "org.caldicott.attestation", Class: event.StateEventType}

// attestationStateKey keys one person's attestation. Not the bare user ID:
// a state key starting with "@" may only be set by that user.
func attestationStateKey(user string) string { return "_" + user }

// publishedAttestation is a trust's signed statement that it confirmed one
// of its own staff's identity (master key). The signature is made with the
// publishing bot's cross-signing master key, which anyone can read from
// /keys/query, so a receiving trust checks it without trusting the rooms
// it travelled through.
type publishedAttestation struct {
	UserID     string                       `json:"user_id"`
	MasterKey  string                       `json:"master_key"`
	Method     string                       `json:"method"`
	AttestedAt int64                        `json:"attested_at"`
	Trust      string                       `json:"trust"`
	Signatures map[string]map[string]string `json:"signatures,omitempty"`
}

// checkPublishedAttestation accepts an attestation only if it names a user
// of the publishing server under its own state key, comes from a user of
// that server, and carries a valid signature by signerMaster (the
// publishing bot's master key, unpadded base64). Anything else is refused
// with the reason, never half-accepted.
func checkPublishedAttestation(raw json.RawMessage, stateKey string, sender id.UserID, server, signerMaster string) (publishedAttestation, error) {
	var p publishedAttestation
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("malformed attestation: %w", err)
	}
	switch {
	case sender.Homeserver() != server:
		return p, fmt.Errorf("published by %s, who is not on %s", sender, server)
	case p.UserID == "" || attestationStateKey(p.UserID) != stateKey:
		return p, fmt.Errorf("names %q under state key %q", p.UserID, stateKey)
	case id.UserID(p.UserID).Homeserver() != server:
		return p, fmt.Errorf("%s is not a user of %s, which may only vouch for its own staff", p.UserID, server)
	}
	if _, unpadded, ok := ed25519Key(p.MasterKey); !ok || unpadded != p.MasterKey {
		return p, errors.New("the attested master key is not an ed25519 key")
	}
	pub, signer, ok := ed25519Key(signerMaster)
	if !ok {
		return p, errors.New("the publishing bot has no valid master key")
	}
	if err := gomatrixserverlib.VerifyJSON(sender.String(), gomatrixserverlib.KeyID("ed25519:"+signer), pub, raw); err != nil {
		return p, fmt.Errorf("signature by %s's master key does not verify: %w", sender, err)
	}
	return p, nil
}
