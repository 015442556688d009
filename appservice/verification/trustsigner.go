//go:build goolm

package verification

import (
	"errors"
	"fmt"

	"maunium.net/go/mautrix/id"
)

// ErrNoSigningIdentity: the bot has no cross-signing identity to sign with
// (encryption disabled, or its keys could not be loaded at start-up).
var ErrNoSigningIdentity = errors.New("the bot has no cross-signing identity to sign with (needs appservice.encryption: enabled)")

// SignAsTrust signs a JSON object (its canonical form, without
// "signatures" and "unsigned") with the bot's cross-signing master key —
// the key that signs the identity confirmations this trust publishes, which
// anyone can read from /keys/query. It returns the key ID
// ("ed25519:<public key>") and the signature, for the object's
// "signatures" under the bot's user ID.
func (s *Verification) SignAsTrust(obj any) (keyID, signature string, err error) {
	if s.crypto == nil {
		return "", "", ErrNoSigningIdentity
	}
	keys := s.crypto.helper.Machine().CrossSigningKeys
	if keys == nil || keys.MasterKey == nil {
		return "", "", ErrNoSigningIdentity
	}
	sig, err := keys.MasterKey.SignJSON(obj)
	if err != nil {
		return "", "", fmt.Errorf("sign with the bot's master key: %w", err)
	}
	return "ed25519:" + keys.MasterKey.PublicKey().String(), sig, nil
}

// AttestationRoom is this trust's attestation room, or "" before it is
// known (or without encryption).
func (s *Verification) AttestationRoom() id.RoomID {
	if s.crypto == nil {
		return ""
	}
	s.crypto.mu.Lock()
	defer s.crypto.mu.Unlock()
	return s.crypto.attestRoom
}
