package verification

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Bounds of the set of encrypted events waiting for their room key. A
// sender's device shares a key with the bot's device by to-device message,
// which can reach it long after the event itself (a busy homeserver, a
// device that was offline); beyond a day the sender has long moved on.
const (
	LateKeysMax = 10_000
	LateKeysTTL = 24 * time.Hour
)

// Why a waiting event was given up (GiveUp's reason).
const (
	GiveUpExpired = "expired"
	GiveUpFull    = "full"
)

// LateKey tells whoever handles an event what became of its wait. Both
// are called without the set's lock held, on whichever goroutine noticed
// (the crypto layer's, for OnKey), so they must only queue work.
type LateKey struct {
	// OnKey hears that the event's key arrived: it can be decrypted now.
	OnKey func(evt *event.Event)
	// OnGiveUp hears that the event will never be handled.
	OnGiveUp func(reason string)
}

// lateKeys holds encrypted events the bot's device received before their
// Megolm session, until the session arrives or the event is given up:
// oldest first when full, any after LateKeysTTL. It lives in memory, with
// the device: a restart or a failover forgets it.
type lateKeys struct {
	mu  sync.Mutex
	now func() time.Time
	max int
	ttl time.Duration
	// order is every waiting event, oldest first; bySession finds a
	// session's events in it.
	order     *list.List
	bySession map[lateKeyID][]*list.Element
}

type lateKeyID struct {
	room    id.RoomID
	session id.SessionID
}

type lateEvent struct {
	key  lateKeyID
	evt  *event.Event
	at   time.Time
	tell LateKey
}

func newLateKeys(now func() time.Time, maxEvents int, ttl time.Duration) *lateKeys {
	return &lateKeys{now: now, max: maxEvents, ttl: ttl, order: list.New(), bySession: map[lateKeyID][]*list.Element{}}
}

// add keeps evt until its session arrives; the oldest waiting are given
// up to make room.
func (l *lateKeys) add(room id.RoomID, session id.SessionID, evt *event.Event, tell LateKey) {
	l.mu.Lock()
	given := l.expireLocked()
	for l.order.Len() >= l.max && l.order.Len() > 0 {
		given = append(given, givenUp{l.removeLocked(l.order.Front()), GiveUpFull})
	}
	key := lateKeyID{room, session}
	el := l.order.PushBack(&lateEvent{key: key, evt: evt, at: l.now(), tell: tell})
	l.bySession[key] = append(l.bySession[key], el)
	l.mu.Unlock()
	tellGivenUp(given)
}

// take removes and returns the events waiting for one session, oldest
// first; each is returned once however often its session is announced.
func (l *lateKeys) take(room id.RoomID, session id.SessionID) []*lateEvent {
	l.mu.Lock()
	key := lateKeyID{room, session}
	els := l.bySession[key]
	out := make([]*lateEvent, 0, len(els))
	for _, el := range els {
		out = append(out, l.order.Remove(el).(*lateEvent))
	}
	delete(l.bySession, key)
	l.mu.Unlock()
	return out
}

// expire gives up the events that have waited longer than the TTL.
func (l *lateKeys) expire() {
	l.mu.Lock()
	given := l.expireLocked()
	l.mu.Unlock()
	tellGivenUp(given)
}

// waiting counts the events waiting.
func (l *lateKeys) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

type givenUp struct {
	e      *lateEvent
	reason string
}

func (l *lateKeys) expireLocked() []givenUp {
	var out []givenUp
	cutoff := l.now().Add(-l.ttl)
	for el := l.order.Front(); el != nil && !el.Value.(*lateEvent).at.After(cutoff); el = l.order.Front() {
		out = append(out, givenUp{l.removeLocked(el), GiveUpExpired})
	}
	return out
}

// removeLocked takes one event out of both the order and its session's list.
func (l *lateKeys) removeLocked(el *list.Element) *lateEvent {
	e := l.order.Remove(el).(*lateEvent)
	els := l.bySession[e.key]
	for i, x := range els {
		if x == el {
			els = append(els[:i:i], els[i+1:]...)
			break
		}
	}
	if len(els) == 0 {
		delete(l.bySession, e.key)
	} else {
		l.bySession[e.key] = els
	}
	return e
}

func tellGivenUp(given []givenUp) {
	for _, g := range given {
		if g.e.tell.OnGiveUp != nil {
			g.e.tell.OnGiveUp(g.reason)
		}
	}
}

// sessionHook is the crypto machine's SessionReceived hook: it calls the
// hook it replaces (prev, if any) first, then hands each event waiting for
// the session back to its handler.
func (l *lateKeys) sessionHook(prev func(context.Context, id.RoomID, id.SessionID, uint32)) func(context.Context, id.RoomID, id.SessionID, uint32) {
	return func(ctx context.Context, room id.RoomID, session id.SessionID, firstKnownIndex uint32) {
		if prev != nil {
			prev(ctx, room, session, firstKnownIndex)
		}
		for _, e := range l.take(room, session) {
			e.tell.OnKey(e.evt)
		}
	}
}

// SessionLateError wraps a decryption that failed for want of the event's
// Megolm session: its key has not reached the bot's device (yet). Await
// keeps the event until it does.
type SessionLateError struct {
	err     error
	evt     *event.Event
	room    id.RoomID
	session id.SessionID
	set     *lateKeys
	// arrived says whether the session has reached the device meanwhile.
	arrived func() bool
}

func (e *SessionLateError) Error() string { return fmt.Sprintf("room key not received yet: %v", e.err) }

func (e *SessionLateError) Unwrap() error { return e.err }

// Await keeps the (still encrypted) event until its key arrives, then
// calls tell.OnKey with it; or, given up, tell.OnGiveUp. A key that came
// between the failed decryption and now is noticed at once.
func (e *SessionLateError) Await(tell LateKey) {
	e.set.add(e.room, e.session, e.evt, tell)
	if e.arrived != nil && e.arrived() {
		for _, w := range e.set.take(e.room, e.session) {
			w.tell.OnKey(w.evt)
		}
	}
}

// Waiting counts the events waiting for their keys, this one included
// once Await has kept it.
func (e *SessionLateError) Waiting() int { return e.set.waiting() }
