package policy

import "fmt"

// ClassChangeOutcome is what becomes of a request to change a room's class.
type ClassChangeOutcome int

// Outcomes of a class change.
const (
	// ChangeApply: the change takes effect now.
	ChangeApply ClassChangeOutcome = iota
	// ChangeNeedsIG: moving a room out of clinical waits for an IG admin;
	// the room stays clinical, hardened as before, until one confirms.
	ChangeNeedsIG
	// ChangeNothing: the room already has that class.
	ChangeNothing
)

// DecideClassChange: classifying a room, or moving it up to clinical, is a
// room admin's decision; moving a clinical room to any other class is the
// trust's IG team's, because from then on nothing protects a room its
// members may still treat as clinical. A second room admin cannot confirm:
// the people who want the change are not the ones to check it.
func DecideClassChange(from, to Class, byIGAdmin bool) ClassChangeOutcome {
	switch {
	case from == to:
		return ChangeNothing
	case from == Clinical && !byIGAdmin:
		return ChangeNeedsIG
	}
	return ChangeApply
}

// RoomRef names a room for the IG team: its ID and alias, never its name
// (room names may hold patient details).
func RoomRef(roomID, alias string) string {
	if alias == "" {
		return roomID
	}
	return fmt.Sprintf("%s (%s)", alias, roomID)
}

// DowngradeRequest is a room admin's wish to move a clinical room out of clinical.
type DowngradeRequest struct {
	RoomID, Alias string
	To            Class
	By, Reason    string
}

// RequestDowngrade puts the request to the IG team and tells the room it
// stays clinical meanwhile.
func RequestDowngrade(r DowngradeRequest) Decision {
	ref := RoomRef(r.RoomID, r.Alias)
	text := fmt.Sprintf("%s asks to move clinical room %s to %s.\nReason: %s\nIG admins: `!policy confirm-downgrade %s` to agree, or `!policy refuse-downgrade %s [reason]`.",
		r.By, ref, r.To, orWord(r.Reason, "none given"), r.RoomID, r.RoomID)
	return Decision{Actions: []Action{
		{Kind: NotifyManagement, Rule: RuleDowngrade, Text: text, Reason: "downgrade to " + string(r.To) + " requested"},
		{Kind: NotifyRoom, Rule: RuleDowngrade, Text: fmt.Sprintf("%s asked to move this room out of clinical (to %s). Only the trust's IG team can do that: I have asked them. Until they confirm, this room stays clinical, with every protection.", r.By, r.To), Reason: "downgrade pending"},
	}}
}

// ApplyDowngrade records the new class, approved by an IG admin, and
// tells the members what it means for them and the IG team it is done.
func ApplyDowngrade(r DowngradeRequest, content PolicyContent, confirmedBy string) Decision {
	content.Class, content.ClassifiedBy = r.To, confirmedBy
	return SetRoomPolicy(content, RuleDowngrade, "move the room to "+string(r.To), fmt.Sprintf("downgrade to %s requested by %s, confirmed by %s", r.To, r.By, confirmedBy)).
		Then(RoomNotice(RuleDowngrade, fmt.Sprintf("This room is no longer clinical: the trust's IG team (%s) has made it %s. From now on, do not share patient information here — use a clinical room. Messages here are now kept for as long as %s rooms keep them.", confirmedBy, r.To.Describe(), r.To), "members told of the downgrade")).
		Then(ManagementNotice(RuleDowngrade, fmt.Sprintf("Clinical room %s is now %s: requested by %s (reason: %s), confirmed by %s.", RoomRef(r.RoomID, r.Alias), r.To, r.By, orWord(r.Reason, "none given"), confirmedBy), "downgrade done"))
}

// RefuseDowngrade closes a request without changing anything.
func RefuseDowngrade(r DowngradeRequest, refusedBy, reason string) Decision {
	return RoomNotice(RuleDowngrade, fmt.Sprintf("The trust's IG team (%s) did not agree to move this room out of clinical. It stays clinical.%s", refusedBy, reasonSuffix(reason)), "downgrade refused").
		Then(ManagementNotice(RuleDowngrade, fmt.Sprintf("Downgrade of clinical room %s to %s refused by %s.%s", RoomRef(r.RoomID, r.Alias), r.To, refusedBy, reasonSuffix(reason)), "downgrade refused"))
}

// RevertDowngrade sets a clinical room's policy back after someone who may
// not moved it out of clinical in room state, and says why and what to do.
func RevertDowngrade(roomID, alias string, restored PolicyContent, sender string, to Class) Decision {
	restored.Class = Clinical
	why := fmt.Sprintf("%s changed this room's class to %s in its settings. Only the trust's IG team can move a room out of clinical, so I have set it back: it stays clinical. To ask them, a room admin types `!policy classify %s [reason]`.", sender, orWord(string(to), "none"), orWord(string(to), "social"))
	return SetRoomPolicy(restored, RuleDowngrade, "set the class back to clinical", fmt.Sprintf("class changed to %s in room state by %s, who may not", orWord(string(to), "none"), sender)).
		Then(RoomNotice(RuleDowngrade, why, "revert explained")).
		Then(ManagementNotice(RuleDowngrade, fmt.Sprintf("%s changed clinical room %s to %s in room state; I set it back to clinical.", sender, RoomRef(roomID, alias), orWord(string(to), "no class")), "downgrade in room state refused"))
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " Reason: " + reason
}
