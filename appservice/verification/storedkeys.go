//go:build goolm

package verification

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// pickleKeyFor is the key that seals the bot's private keys at rest,
// derived from the as_token.
func pickleKeyFor(asToken string) []byte {
	sum := sha256.Sum256([]byte("org.caldicott.pickle:" + asToken))
	return sum[:]
}

// ErrNoRoomKey: the bot's device never received the key of this message
// (sent before the bot joined, or never shared with its device).
var ErrNoRoomKey = errors.New("the bot's device holds no key for it")

// StoredKeys decrypts room messages with the Megolm keys the bot's device
// has stored in Caldicott's database, reading them only: it changes
// nothing in the crypto store (no ratchet, no replay records), so a second
// process — `caldicott export` beside the running service — may use it
// safely. It checks what the crypto layer checks before trusting a
// plaintext (the session's sender key, the room the plaintext names); it
// does not resolve the sending device's trust.
type StoredKeys struct {
	store *crypto.SQLCryptoStore
}

// OpenStoredKeys reads the bot's keys from db (the store's database), opened
// with the key derived from asToken.
func OpenStoredKeys(db *dbutil.Database, asToken string) *StoredKeys {
	// The account ID is the crypto helper's default (""), as the service uses.
	return &StoredKeys{store: crypto.NewSQLCryptoStore(db, dbutil.ZeroLogger(zerolog.Nop()), "", "", pickleKeyFor(asToken))}
}

// Decrypt returns the type and content of an encrypted room event, or why
// it cannot be read.
func (k *StoredKeys) Decrypt(ctx context.Context, evt *event.Event) (string, json.RawMessage, error) {
	var content event.EncryptedEventContent
	if err := json.Unmarshal(evt.Content.VeryRaw, &content); err != nil {
		return "", nil, fmt.Errorf("malformed encrypted content: %w", err)
	}
	if content.Algorithm != id.AlgorithmMegolmV1 {
		return "", nil, fmt.Errorf("unsupported algorithm %q", content.Algorithm)
	}
	sess, err := k.store.GetGroupSession(ctx, evt.RoomID, content.SessionID)
	var withheld *event.RoomKeyWithheldEventContent
	switch {
	case errors.As(err, &withheld):
		return "", nil, fmt.Errorf("its key was withheld from the bot (%s)", withheld.Code)
	case err != nil:
		return "", nil, fmt.Errorf("read the room key: %w", err)
	case sess == nil:
		return "", nil, ErrNoRoomKey
	case content.SenderKey != "" && content.SenderKey != sess.SenderKey:
		return "", nil, errors.New("its session belongs to another device than the one that sent it")
	}
	plaintext, _, err := sess.Internal.Decrypt(content.MegolmCiphertext)
	if err != nil {
		return "", nil, fmt.Errorf("the stored key does not open it: %w", err)
	}
	var payload struct {
		RoomID  id.RoomID                  `json:"room_id"`
		Type    string                     `json:"type"`
		Content map[string]json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(plaintext, &payload); err != nil {
		return "", nil, fmt.Errorf("malformed plaintext: %w", err)
	}
	if payload.RoomID != evt.RoomID {
		return "", nil, errors.New("its plaintext names another room")
	}
	if payload.Content == nil {
		payload.Content = map[string]json.RawMessage{}
	}
	// Relations travel outside the ciphertext; put them back, as clients do.
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(evt.Content.VeryRaw, &outer); err == nil {
		if rel, ok := outer["m.relates_to"]; ok {
			if _, inner := payload.Content["m.relates_to"]; !inner {
				payload.Content["m.relates_to"] = rel
			}
		}
	}
	raw, err := json.Marshal(payload.Content)
	if err != nil {
		return "", nil, err
	}
	return payload.Type, raw, nil
}
