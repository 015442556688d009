// Package verification holds members' identities: their cross-signing
// keys read and checked, the graces and suspensions that follow, emoji
// verification with the bot (its own encryption device and cross-signing
// identity), in-person attestation, and the signed confirmations trusts
// publish to one another. It decides through policy and acts through the
// executor; the emoji protocol's messages and the crypto layer's key
// uploads are its own, by design (see package executor). Its encryption
// device seals the executor's messages to encrypted rooms (encrypt.go);
// whether a room is encrypted the executor decides, from the room's state.
package verification

import (
	"sync"

	"github.com/caldicott/caldicott/appservice/kit"
	"maunium.net/go/mautrix/id"
)

// Verification is the capability.
type Verification struct {
	*kit.Kit
	// userLocks: a *sync.Mutex per person, so one person's identity is
	// judged by one check at a time (checkIdentity).
	userLocks sync.Map
	// KeysChanged receives users whose devices or keys changed (from the
	// bot's sync); the worker checks them.
	KeysChanged chan<- string
	// Invited is told of invitations to the bot its sync sees — the only
	// way it hears of one sent over federation (Dendrite v0.15.2 does not
	// pass those to appservices).
	Invited func(room id.RoomID, inviter id.UserID)

	keys   keyCache
	crypto *e2ee
	sas    sasFlows
	attest attestSources
	// activity paces the bot's device-list sync (see activity.go).
	activity roomActivity
}

// New builds the capability.
func New(k *kit.Kit, keysChanged chan<- string) *Verification {
	return &Verification{
		Kit: k, KeysChanged: keysChanged,
		sas:      sasFlows{byTxn: map[string]*sasFlow{}},
		attest:   attestSources{rooms: map[id.RoomID]string{}},
		activity: newRoomActivity(),
	}
}

// HasEncryption: the bot's encryption device is running.
func (s *Verification) HasEncryption() bool { return s.crypto != nil }
