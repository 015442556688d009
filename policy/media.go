package policy

import (
	"fmt"
	"time"
)

// MediaRef is one thing known to point at a file: a message in a room, or
// an avatar (a room's, or a member's profile picture), with what the room
// says about keeping it.
type MediaRef struct {
	URI     string
	RoomID  string
	EventID string
	// Avatar: a room or profile picture, kept for good.
	Avatar bool
	Sent   time.Time
	// Retention is the room's effective retention now (zero: the room keeps
	// its messages for good, or Caldicott no longer sweeps it).
	Retention Retention
	// Held: the room is on legal hold.
	Held bool
	// AwaitsRecord: the message is waiting for the patient record.
	AwaitsRecord bool
}

// MediaFile is what is known of a file an expired message pointed at,
// before its bytes are deleted.
type MediaFile struct {
	// URI is the mxc:// URI the expired message pointed at; Server its
	// server name, OwnServer this trust's.
	URI, Server, OwnServer string
	// Hash is the content hash of its bytes ("" when they could not be
	// read): the homeserver keeps one copy per hash, shared by every URI
	// with the same bytes, so deleting it deletes all of them.
	Hash string
	// Unsure: something may point at these bytes that the index never saw
	// (they were first stored before the index began, or other URIs with
	// the same bytes could not all be checked).
	Unsure bool
	// Refs are every known reference to every URI with these bytes.
	Refs []MediaRef
}

// Media keep reasons, for the log and the tests: an ID, never a person.
const (
	MediaNotOurs       = "not_our_server"
	MediaUnreadable    = "bytes_unreadable"
	MediaUnsure        = "unindexed_references_possible"
	MediaUnreferenced  = "no_known_reference"
	MediaAvatar        = "avatar"
	MediaHeld          = "legal_hold"
	MediaAwaitsRecord  = "awaits_patient_record"
	MediaKeptForGood   = "room_keeps_messages"
	MediaNotYetExpired = "reference_not_expired"
)

// MediaFileFate decides whether an expired message's file is deleted from
// the media store: only a file of this server, whose bytes are known, that
// nothing unindexed may use, and whose every reference (every message and
// avatar pointing at any URI with the same bytes) has expired under its
// room's retention, with none on legal hold or waiting for the patient
// record. Otherwise it is kept, and why is returned. When unsure, keep: a
// file left behind is found by the next expired message that points at it;
// a file deleted is gone.
func MediaFileFate(now time.Time, f MediaFile) (Decision, string) {
	switch {
	case f.Server == "" || f.Server != f.OwnServer:
		return Decision{}, MediaNotOurs
	case f.Hash == "":
		return Decision{}, MediaUnreadable
	case f.Unsure:
		return Decision{}, MediaUnsure
	case len(f.Refs) == 0:
		return Decision{}, MediaUnreferenced
	}
	for _, r := range f.Refs {
		if why := mediaRefKeeps(now, r); why != "" {
			return Decision{}, why
		}
	}
	why := fmt.Sprintf("Every message pointing at this file has expired under its room's retention period (%d reference(s)); none is on legal hold, awaiting the patient record, or an avatar.", len(f.Refs))
	return Decision{Actions: []Action{{Kind: DeleteMedia, Rule: RuleMediaDeletion, Target: f.URI, Hash: f.Hash, Text: "delete an expired file", Reason: why}}}, ""
}

// mediaRefKeeps is why one reference keeps its file, or "".
func mediaRefKeeps(now time.Time, r MediaRef) string {
	switch {
	case r.Avatar:
		return MediaAvatar
	case r.Held:
		return MediaHeld
	case r.AwaitsRecord:
		return MediaAwaitsRecord
	case r.Retention.MaxLifetime <= 0:
		return MediaKeptForGood
	case r.Sent.IsZero() || r.Sent.After(now.Add(-max(r.Retention.MaxLifetime, r.Retention.MinLifetime))):
		return MediaNotYetExpired
	}
	return ""
}
