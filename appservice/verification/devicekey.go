//go:build goolm

package verification

import (
	"encoding/json"
	"fmt"

	"github.com/matrix-org/gomatrixserverlib"
)

// deviceKey returns a device's ed25519 key as the homeserver published it,
// only if the device's keys carry a valid signature by that same key (the
// device vouching for its own identity key).
func deviceKey(userID, deviceID string, resp keysQueryResponse) (string, error) {
	raw, ok := resp.DeviceKeys[userID][deviceID]
	if !ok {
		return "", fmt.Errorf("device %s of %s is not published", deviceID, userID)
	}
	var dk struct {
		UserID   string            `json:"user_id"`
		DeviceID string            `json:"device_id"`
		Keys     map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(raw, &dk); err != nil || dk.UserID != userID || dk.DeviceID != deviceID {
		return "", fmt.Errorf("device %s of %s: keys malformed or not for this device", deviceID, userID)
	}
	keyID := "ed25519:" + deviceID
	pub, b64, ok := ed25519Key(dk.Keys[keyID])
	if !ok {
		return "", fmt.Errorf("device %s of %s has no ed25519 key", deviceID, userID)
	}
	if err := gomatrixserverlib.VerifyJSON(userID, gomatrixserverlib.KeyID(keyID), pub, raw); err != nil {
		return "", fmt.Errorf("device %s of %s: keys not signed by the device itself", deviceID, userID)
	}
	return b64, nil
}
