// Package facts reads what the rules judge from the homeserver and keeps
// what it can: a room's state as policy.RoomFacts, and each room's members
// in a cache fed by membership events. It only reads from the homeserver
// (the executor writes); it writes only its own member lists to the store.
package facts

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"maunium.net/go/mautrix"
)

// MemberStore keeps the last known member lists.
type MemberStore interface {
	SetRoomMember(ctx context.Context, roomID, userID, displayName string, joined bool) error
}

// Reader reads facts for the rules.
type Reader struct {
	bot   *mautrix.Client
	botID string
	store MemberStore
	now   func() time.Time
	// reads counts member lists read from the homeserver.
	reads   prometheus.Counter
	members memberCache
}

// New builds a reader that reads as bot; now is the service's one clock.
func New(bot *mautrix.Client, botID string, st MemberStore, now func() time.Time, reads prometheus.Counter) *Reader {
	return &Reader{bot: bot, botID: botID, store: st, now: now, reads: reads}
}
