//go:build !goolm

package verification

import (
	"errors"

	"maunium.net/go/mautrix/id"
)

// ErrNoSigningIdentity: builds without encryption have no signing identity.
var ErrNoSigningIdentity = errors.New("this Caldicott was built without end-to-end encryption, so it has no cross-signing identity to sign with")

func (s *Verification) SignAsTrust(any) (string, string, error) { return "", "", ErrNoSigningIdentity }

func (s *Verification) AttestationRoom() id.RoomID { return "" }
