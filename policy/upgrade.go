package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// TombstoneEventType marks a room as replaced (a room upgrade).
const TombstoneEventType = "m.room.tombstone"

// Succession is what two rooms say about an upgrade: the old room's
// current m.room.tombstone and the new room's m.room.create. Both are
// checked by the homeserver's event auth (only someone with the power to
// send a tombstone in the old room can set one; the create event is the
// new room's first), so when they name each other the new room was made by
// upgrading the old one. A tombstone alone proves nothing about the room
// it points to: anyone with that power could point it at a room of their
// own choosing, and carrying the old room's holds, records, reviews and
// class there would take them from where they belong.
type Succession struct {
	OldRoom, NewRoom string
	// UpgradedBy sent the tombstone (or, for an invitation, invited the bot).
	UpgradedBy string
	// Tombstone is the replacement_room of the old room's current
	// tombstone ("" when it has none).
	Tombstone string
	// Predecessor is predecessor.room_id of the new room's m.room.create
	// ("" when it names none).
	Predecessor string
}

// Genuine reports whether the rooms name each other, and if not, why not
// in words for the IG team.
func (s Succession) Genuine() (bool, string) {
	switch {
	case s.Tombstone == "":
		return false, fmt.Sprintf("%s has not been replaced (it has no tombstone), so %s cannot be its replacement", s.OldRoom, s.NewRoom)
	case s.Tombstone != s.NewRoom:
		return false, fmt.Sprintf("%s was replaced by %s, not by %s", s.OldRoom, s.Tombstone, s.NewRoom)
	case s.Predecessor == "":
		return false, fmt.Sprintf("%s was not made by upgrading %s: its creation names no earlier room", s.NewRoom, s.OldRoom)
	case s.Predecessor != s.OldRoom:
		return false, fmt.Sprintf("%s was not made by upgrading %s: its creation names %s as the earlier room", s.NewRoom, s.OldRoom, s.Predecessor)
	}
	return true, ""
}

// Guarded says whether Caldicott follows a room to its replacement: it
// does for every classified room.
func Guarded(c Class) bool { return c != Unclassified }

// JoinReplacement makes the bot join the room that replaces a guarded one.
func JoinReplacement(s Succession) Decision {
	return Decision{Actions: []Action{{Kind: Join, Rule: RuleRoomUpgrade, Target: s.NewRoom, Text: "join the new room " + s.NewRoom,
		Reason: fmt.Sprintf("%s was upgraded by %s to %s", s.OldRoom, s.UpgradedBy, s.NewRoom)}}}
}

// ReplacementUnprotected tells the old room's members (calling on the
// person who upgraded it, who can fix it) and the IG team that the new room
// is not protected because the bot could not get in, and what to do.
func ReplacementUnprotected(s Succession, class Class, bot, why string) Decision {
	room := fmt.Sprintf("This room has been replaced by a new room (%s), but I could not join it: %s. So the new room is NOT protected: "+
		"anyone invited there stays, and this room's deletion period, legal hold, patient records, reviews and requests have not moved to it. "+
		"%s, or any admin of the new room: invite %s to the new room and I will join and carry everything over at once. "+
		"Until then, do not share patient information in the new room.", s.NewRoom, why, s.UpgradedBy, bot)
	mgmt := fmt.Sprintf("The %s room %s was upgraded by %s to %s, and I could not join the new room: %s. It is NOT protected. "+
		"Ask a room admin there to invite %s; I will join and carry the room's protection over at once.", class, s.OldRoom, s.UpgradedBy, s.NewRoom, why, bot)
	reason := fmt.Sprintf("replacement %s of %s could not be joined: %s", s.NewRoom, s.OldRoom, why)
	return Decision{Actions: []Action{
		{Kind: NotifyRoom, Rule: RuleRoomUpgrade, Text: room, Reason: reason, Mentions: []string{s.UpgradedBy}},
		{Kind: NotifyManagement, Rule: RuleRoomUpgrade, Text: mgmt, Reason: reason},
	}}
}

// RefuseSuccession tells the room the decision is about and the IG team
// that nothing was carried over to a room that is not a true replacement.
func RefuseSuccession(s Succession, why string) Decision {
	text := fmt.Sprintf("I did not carry %s's protection over to %s: %s. The class, legal hold, patient records, reviews and requests stay with %s. "+
		"If the room really was upgraded, ask your IG team.", s.OldRoom, s.NewRoom, why, s.OldRoom)
	mgmt := fmt.Sprintf("Refused: %s (set up by %s) claims to replace %s, but %s. Nothing was carried over; check who did this.", s.NewRoom, s.UpgradedBy, s.OldRoom, why)
	reason := "not a true replacement: " + why
	return Decision{Actions: []Action{
		{Kind: NotifyRoom, Rule: RuleRoomUpgrade, Text: text, Reason: reason},
		{Kind: NotifyManagement, Rule: RuleRoomUpgrade, Text: mgmt, Reason: reason},
	}}
}

// CarryOverState makes the new room's policy (class and room options) and
// retention period the old room's. The upgrade copies them, but the
// person who upgraded was alone in the new room before the bot came and
// could have changed them there: the old room's, which the rules governed,
// are the ones that count.
func CarryOverState(old, repl RoomFacts) Decision {
	var d Decision
	want := old.PolicyContent(old.Class)
	if have := repl.PolicyContent(repl.Class); !samePolicy(want, have) {
		what := "the room's class and options, as in " + old.RoomID
		if repl.Class != old.Class {
			what = fmt.Sprintf("the room's class: %s → %s, as in %s", orNone(string(repl.Class)), old.Class, old.RoomID)
		}
		d.Actions = append(d.Actions, Action{Kind: SetState, Rule: RuleRoomUpgrade, EventType: PolicyEventType, Content: want.Map(), Text: what,
			Reason: "carried over from " + old.RoomID})
	}
	if len(old.Retention) > 0 && !sameRawJSON(old.Retention, repl.Retention) {
		var content map[string]any
		if json.Unmarshal(old.Retention, &content) == nil {
			d.Actions = append(d.Actions, Action{Kind: SetState, Rule: RuleRoomUpgrade, EventType: RetentionEventType, Content: content,
				Text: "the deletion period, as in " + old.RoomID, Reason: "carried over from " + old.RoomID})
		}
	}
	return d
}

// Carried is what was brought to the new room, for the notices.
type Carried struct {
	Class                        Class
	LegalHold, Review, Downgrade bool
	Requests, Records            int64
	// SetBack lists what the new room had different and was set back.
	SetBack []string
}

// ReplacementGuarded tells the new room (executed there) and the IG team
// that the new room is guarded as the old one was.
func ReplacementGuarded(s Succession, c Carried) Decision {
	items := []string{"its class (" + string(c.Class) + ") and room options", "its deletion period"}
	if c.LegalHold {
		items = append(items, "its legal hold")
	}
	if c.Records > 0 {
		items = append(items, fmt.Sprintf("%d message(s) waiting for the patient record (still kept in the old room until the record accepts them)", c.Records))
	}
	if c.Review {
		items = append(items, "its membership review schedule")
	}
	if c.Requests > 0 {
		items = append(items, fmt.Sprintf("%d pending access request(s)", c.Requests))
	}
	if c.Downgrade {
		items = append(items, fmt.Sprintf("a request to move it out of clinical, still waiting for the IG team (confirm with `!policy confirm-downgrade %s`)", s.NewRoom))
	}
	carried := strings.Join(items, "; ")
	room := fmt.Sprintf("This room replaces %s. I have carried its protection over: %s. Everyone here is checked as in any %s room.", s.OldRoom, carried, c.Class)
	if len(c.SetBack) > 0 {
		room += " Set back to the old room's: " + strings.Join(c.SetBack, "; ") + "."
	}
	mgmt := fmt.Sprintf("The %s room %s was upgraded by %s to %s. I am in the new room and guard it as before; carried over: %s.", c.Class, s.OldRoom, s.UpgradedBy, s.NewRoom, carried)
	reason := fmt.Sprintf("%s replaces %s (upgraded by %s)", s.NewRoom, s.OldRoom, s.UpgradedBy)
	return Decision{Actions: []Action{
		{Kind: NotifyRoom, Rule: RuleRoomUpgrade, Text: room, Reason: reason},
		{Kind: NotifyManagement, Rule: RuleRoomUpgrade, Text: mgmt, Reason: reason},
	}}
}

// samePolicy compares two policies as the events that would hold them.
func samePolicy(a, b PolicyContent) bool {
	ra, err1 := json.Marshal(a)
	rb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ra, rb)
}

// sameRawJSON compares two contents as JSON values, whatever their spacing
// or key order.
func sameRawJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ra, _ := json.Marshal(va)
	rb, _ := json.Marshal(vb)
	return bytes.Equal(ra, rb)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// InReplacement turns replies to a command made in a room since replaced
// into notices in its replacement, where the members now are (a reply
// there would point at an event they cannot see), saying where the message
// is. Whom a reply called on, it still calls on.
func (d Decision) InReplacement(oldRoom string) Decision {
	out := Decision{Problems: d.Problems}
	for _, a := range d.Actions {
		if a.Kind == Reply {
			a.Kind, a.EventID = NotifyRoom, ""
			a.Text = fmt.Sprintf("About a message in the room this one replaces (%s): %s", oldRoom, a.Text)
		}
		out.Actions = append(out.Actions, a)
	}
	return out
}
