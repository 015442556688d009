//go:build !goolm

package verification

import (
	"context"
	"errors"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// ErrBotIdentityIntact: the cross-signing keys in the database are the
// ones the homeserver shows; there is nothing to reset.
var ErrBotIdentityIntact = errors.New("the bot's cross-signing keys are intact")

// BotReset is what a reset of the bot's identity did.
type BotReset struct {
	DeviceID            id.DeviceID
	Previous, MasterKey string
}

// ResetBotIdentity needs the encryption device, which this build lacks.
func ResetBotIdentity(context.Context, *config.Config, *store.Store, zerolog.Logger) (BotReset, error) {
	return BotReset{}, errors.New("this Caldicott was built without end-to-end encryption (build with -tags goolm)")
}
