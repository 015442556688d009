package audithead

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix/id"
)

// Head is the published head of the audit chain: the body of the
// org.caldicott.audit.head state event.
type Head struct {
	// Seq and Hash are the chain's last entry when published.
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Trust is the publishing trust's name, for people reading the room.
	Trust string `json:"trust"`
	// PublishedAt is when it was published (ms since the epoch).
	PublishedAt int64 `json:"published_at"`
	// Signatures: the bot's user ID → "ed25519:<master key>" → signature
	// over the canonical JSON of the rest.
	Signatures map[string]map[string]string `json:"signatures,omitempty"`
}

// Time is PublishedAt as a time.
func (h Head) Time() time.Time { return time.UnixMilli(h.PublishedAt).UTC() }

// content is the head as a state event body.
func (h Head) content() (map[string]any, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(raw, &m)
}

// CheckSigned reads a published head and accepts it only if it came from
// bot (sender), is well formed, and carries a valid signature by
// masterKey, the bot's cross-signing master key (unpadded base64) as its
// homeserver publishes it. Anything else is refused with the reason.
func CheckSigned(raw json.RawMessage, sender, bot id.UserID, masterKey string) (Head, error) {
	var h Head
	if sender != bot {
		return h, fmt.Errorf("it was set by %s, not by Caldicott's bot %s", sender, bot)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, fmt.Errorf("it is malformed: %w", err)
	}
	if h.Seq < 1 || len(h.Hash) != 64 {
		return h, errors.New("it names no audit entry (emptied or overwritten)")
	}
	if len(h.Signatures[bot.String()]) == 0 {
		return h, errors.New("it is not signed")
	}
	unpadded := strings.TrimRight(masterKey, "=")
	pub, err := base64.RawStdEncoding.DecodeString(unpadded)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return h, fmt.Errorf("%s has no valid cross-signing master key to check the signature with", bot)
	}
	if err := gomatrixserverlib.VerifyJSON(bot.String(), gomatrixserverlib.KeyID("ed25519:"+unpadded), ed25519.PublicKey(pub), raw); err != nil {
		return h, fmt.Errorf("its signature does not verify against %s's master key %s: %w", bot, unpadded, err)
	}
	return h, nil
}
