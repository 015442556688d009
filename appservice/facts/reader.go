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
	// bots says whether a user is a Caldicott bot of the federation, whose
	// word in a policy event about who set its filters is taken.
	bots func(user string) bool
}

// SetBots tells the reader which users are Caldicott bots of the
// federation (by default only its own bot).
func (s *Reader) SetBots(isBot func(user string) bool) { s.bots = isBot }

// isBot: user is this bot or, once SetBots is called, another trust's.
func (s *Reader) isBot(user string) bool {
	return user == s.botID || (s.bots != nil && s.bots(user))
}

// New builds a reader that reads as bot; now is the service's one clock.
func New(bot *mautrix.Client, botID string, st MemberStore, now func() time.Time, reads prometheus.Counter) *Reader {
	return &Reader{bot: bot, botID: botID, store: st, now: now, reads: reads}
}
