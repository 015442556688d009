//go:build !goolm

package appservice

import (
	"context"
	"errors"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// E2EEAvailable says whether this build has end-to-end encryption. Builds
// without the goolm tag (a plain `go build`) have none: the bot then cannot
// read encrypted commands. `make build` always sets the tag.
const E2EEAvailable = false

type e2ee struct{}

func (s *Service) startE2EE(context.Context) error {
	s.log.Warn().Msg("Built without end-to-end encryption (goolm tag): encrypted commands cannot be read")
	return nil
}

func (s *Service) decrypt(context.Context, *event.Event) (*event.Event, error) {
	return nil, errors.New("this Caldicott was built without end-to-end encryption")
}

func (s *Service) cmdVerify(ctx context.Context, c *commandContext) error {
	return s.reply(ctx, c.Evt, "Emoji verification is not available: this Caldicott was built without encryption. Ask the IG team to confirm your identity in person instead (`!policy attest`).")
}

func (s *Service) promptVerification(context.Context, id.UserID, id.RoomID) error { return nil }

func (s *Service) onRoomVerification(context.Context, *event.Event) error { return nil }

func (s *Service) expireVerifications(context.Context) {}

func (s *Service) ensureAttestationRoom(context.Context) error { return nil }

func (s *Service) publishAttestation(context.Context, store.Attestation) error { return nil }

func (s *Service) withdrawPublished(context.Context, string) error { return nil }

// Without encryption there are no emoji verifications in progress.
type sasFlows struct{ byTxn map[string]*sasFlow }

type sasFlow struct{}
