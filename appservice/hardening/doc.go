// Package hardening keeps clinical rooms hardened: classification (by
// command or in room state), the protections and their drift repair, the
// reconciliation of every room, space links between classes that must not
// meet, a clinical room's options, and following a room to its replacement
// when it is upgraded. It decides through policy and acts
// through the executor; the members of a room are judged by membership,
// reached through the Members interface.
package hardening

import (
	"context"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/policy"
)

// Members judges the members of a room (package membership).
type Members interface {
	JudgeRoom(ctx context.Context, f policy.RoomFacts, mode policy.GateMode) (removed int, err error)
	JudgeMembers(ctx context.Context, f policy.RoomFacts, members map[string]string, joiners map[string]bool, mode policy.GateMode) (removed int, err error)
	// FilterLeft lists the members who fail the room's role or team filter
	// but are out of its reach (policy.GateOutranksFilters).
	FilterLeft(ctx context.Context, f policy.RoomFacts) ([]string, error)
	JudgeInvited(ctx context.Context, f policy.RoomFacts, invited []string) (removed int, err error)
}

// Verification lists a room's members' verification, for status.
type Verification interface {
	MemberLines(ctx context.Context, roomID id.RoomID) ([]string, error)
}

// Deletion says how a room's message deletion stands, for status
// (package retention).
type Deletion interface {
	DeletionStatus(ctx context.Context, roomID id.RoomID) string
}

// Records says what waits for the patient record, for status (package
// records).
type Records interface {
	StatusLine(ctx context.Context, roomID id.RoomID) string
}

// Hardening is the capability.
type Hardening struct {
	*kit.Kit
	Members  Members
	Verify   Verification
	Deletion Deletion
	Records  Records
	lanes    *worker.Lanes
}

// New builds the capability on the capabilities it calls.
func New(k *kit.Kit, lanes *worker.Lanes, members Members, verify Verification, deletion Deletion, records Records) *Hardening {
	return &Hardening{Kit: k, Members: members, Verify: verify, Deletion: deletion, Records: records, lanes: lanes}
}
