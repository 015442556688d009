package policy

import "time"

// RoomKeyGrace is how far past the proof that a session's messages are gone
// the bot still keeps its key: for a message federated late (its send time
// older than its arrival) and for clocks that disagree between servers.
const RoomKeyGrace = 24 * time.Hour

// DefaultKeyRotation is how long a sender uses one Megolm session when its
// room key says nothing (the spec's default rotation period, as
// mautrix-go's crypto assumes too).
const DefaultKeyRotation = 7 * 24 * time.Hour

// RoomSweepProof is what a room's retention sweep last recorded, as far as
// it proves which messages are gone.
type RoomSweepProof struct {
	// Held: the room is on legal hold; nothing in it is deleted.
	Held bool
	// LastFinished is when the last pass that reached the end of what had
	// expired began (zero: never).
	LastFinished time.Time
	// OldestKept is the send time of the oldest message that pass left
	// (zero: it left none).
	OldestKept time.Time
	// Backlog counts expired messages left (beyond the batch, or awaiting
	// the patient record); Failures counts failed passes in a row.
	Backlog, Failures int64
}

// DeletedBefore is the send time before which every message in the room
// is certainly deleted, or zero when the sweep proves nothing: the room is
// held, its last pass failed, or expired messages are still there (some
// may await the patient record).
func (p RoomSweepProof) DeletedBefore() time.Time {
	if p.Held || p.Failures > 0 || p.Backlog > 0 || p.LastFinished.IsZero() {
		return time.Time{}
	}
	// The pass read the room oldest first and deleted everything up to
	// the first message still within retention; with none left, up to
	// where it began.
	if p.OldestKept.IsZero() || p.OldestKept.After(p.LastFinished) {
		return p.LastFinished
	}
	return p.OldestKept
}

// RoomKey is what the bot's device knows of one inbound Megolm session.
type RoomKey struct {
	// Own: the bot's own session (its notices); the bot keeps these, as it
	// does not note when it last used one.
	Own bool
	// Received is when the key reached the bot (zero: unknown, an old key).
	Received time.Time
	// Rotation is the sender's rotation period for it (zero: unknown).
	Rotation time.Duration
	// LastMessage is the send time of its newest message the bot
	// decrypted (zero: none).
	LastMessage time.Time
}

// RoomKeySpent decides whether the bot's device may discard a room key:
// only when every message the key can have encrypted is certainly deleted
// from the room by retention — its sender has rotated away from it (its
// rotation period, counted from when the bot got it, is over) and every
// message of it the bot read is older than what the sweep has proven
// deleted, with a day's grace. A key of a held room, a room whose expired
// messages await the record, or a room never swept is kept, so subject
// access exports and record deliveries can still read what is kept.
func RoomKeySpent(k RoomKey, deletedBefore time.Time) bool {
	if k.Own || k.Received.IsZero() || deletedBefore.IsZero() {
		return false
	}
	rotation := k.Rotation
	if rotation <= 0 {
		rotation = DefaultKeyRotation
	}
	lastUse := k.Received.Add(rotation)
	if k.LastMessage.After(lastUse) {
		lastUse = k.LastMessage // a sender that did not rotate on time
	}
	return lastUse.Add(RoomKeyGrace).Before(deletedBefore)
}
