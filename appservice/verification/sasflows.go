//go:build goolm

package verification

import (
	"sync"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/sas"
)

// sasFlows are the emoji verifications in progress, by transaction ID.
// They live in memory: one interrupted by a restart is simply started again.
type sasFlows struct {
	mu    sync.Mutex
	byTxn map[string]*sasFlow
}

// sasFlow is one verification and where it runs: in a room (the request's
// event ID is the transaction) or by to-device messages (room empty). The
// bot's emoji are posted in noticeRoom, where the member asked.
type sasFlow struct {
	*sas.Flow
	room       id.RoomID
	noticeRoom id.RoomID
	// sentTo are the member's devices a to-device request went to; once
	// one answers, the others are told it was accepted elsewhere.
	sentTo []id.DeviceID
}
