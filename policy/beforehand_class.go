package policy

// GateClassDowngrade: a direct edit of a clinical room's policy event would
// move it out of clinical without the IG team's decision.
const GateClassDowngrade = "class_downgrade"

// PolicyEditGate judges a direct edit of a room's org.caldicott.policy
// (with devtools, say), as the appservice would judge it once sent: a
// change that moves a clinical room out of clinical, by anyone but an IG
// admin of the room's own trust (DecideClassChange), would be set back,
// so it is refused. Any other edit (roles, teams, options) the appservice
// takes as the room's admins' and keeps, so it passes. content is the
// event's content as sent; a class it does not name as a string, or names
// unknown, reads as none, as the appservice reads it.
func PolicyEditGate(current Class, content map[string]any, byIGAdmin bool) GateDecision {
	raw, _ := content["class"].(string)
	to, _ := ParseClass(raw)
	if DecideClassChange(current, to, byIGAdmin) != ChangeNeedsIG {
		return GateDecision{Allow: true, Rule: GateClassDowngrade}
	}
	return GateDecision{Rule: GateClassDowngrade, Reason: "Moving a room out of clinical is the IG team's decision: type `!policy classify <class> <reason>` and the IG team will be asked."}
}
