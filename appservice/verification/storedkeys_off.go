//go:build !goolm

package verification

import (
	"context"
	"encoding/json"
	"errors"

	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/event"
)

// ErrNoRoomKey: builds without encryption hold no room keys.
var ErrNoRoomKey = errors.New("this Caldicott was built without end-to-end encryption")

// StoredKeys cannot decrypt in builds without encryption.
type StoredKeys struct{}

// OpenStoredKeys returns a StoredKeys that reads nothing.
func OpenStoredKeys(*dbutil.Database, string) *StoredKeys { return &StoredKeys{} }

// Decrypt always fails: no encryption in this build.
func (*StoredKeys) Decrypt(context.Context, *event.Event) (string, json.RawMessage, error) {
	return "", nil, ErrNoRoomKey
}
