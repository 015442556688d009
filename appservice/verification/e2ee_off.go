//go:build !goolm

package verification

import (
	"context"
	"errors"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/store"
)

// E2EEAvailable says whether this build has end-to-end encryption. Builds
// without the goolm tag (a plain `go build`) have none: the bot then cannot
// read encrypted commands. `make build` always sets the tag.
const E2EEAvailable = false

type e2ee struct{}

func (s *Verification) StartE2EE(context.Context) error {
	s.Log.Warn().Msg("Built without end-to-end encryption (goolm tag): encrypted commands cannot be read")
	return nil
}

func (s *Verification) Decrypt(context.Context, *event.Event) (*event.Event, error) {
	return nil, errors.New("this Caldicott was built without end-to-end encryption")
}

func (s *Verification) cmdVerify(ctx context.Context, c *commands.Call) error {
	return s.Reply(ctx, c.Evt, "Emoji verification is not available: this Caldicott was built without encryption. Ask the IG team to confirm your identity in person instead (`!policy attest`).")
}

func (s *Verification) promptVerification(context.Context, id.UserID, id.RoomID) error { return nil }

func (s *Verification) OnRoomVerification(context.Context, *event.Event) error { return nil }

func (s *Verification) ExpireVerifications(context.Context) {}

func (s *Verification) EnsureAttestationRoom(context.Context) error { return nil }

func (s *Verification) publishAttestation(context.Context, store.Attestation) error { return nil }

func (s *Verification) withdrawPublished(context.Context, string) error { return nil }

// Without encryption there are no emoji verifications in progress.
type sasFlows struct{ byTxn map[string]*sasFlow }

type sasFlow struct{}
