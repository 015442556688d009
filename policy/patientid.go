package policy

import "fmt"

// PatientIDInMessage decides what happens to a message that holds a valid
// NHS number, by the room's class: clinical rooms are where patient
// information belongs, and unclassified rooms are not Caldicott's to
// police; in social and operational rooms the message is deleted and its
// sender told privately why — without the number, which must not travel
// further.
func PatientIDInMessage(c Class, sender, eventID, room string) Decision {
	if c != Social && c != Operational {
		return Decision{}
	}
	why := fmt.Sprintf("an NHS number in a %s room", c)
	return Decision{Actions: []Action{
		{Kind: Redact, Rule: RulePatientID, EventID: eventID, Text: "Removed: patient identifiers do not belong in this room.", Reason: why},
		{Kind: NotifyUser, Rule: RulePatientID, UserID: sender, Reason: why, Text: fmt.Sprintf(
			"I removed a message you sent in %s because it contained an NHS number. %s rooms are not for patient information: please share it in a clinical room, where access is checked and messages are kept and deleted under the trust's rules.", room, capitalise(string(c)))},
	}}
}

// PatientIDInRoomText decides what happens when a room's name or topic
// holds a valid NHS number, in any room: a name is shown in invitations
// and room lists, far beyond the room. It is replaced by cleaned, which
// has the number taken out, and the room is told.
func PatientIDInRoomText(field, eventType, key, cleaned string) Decision {
	why := "an NHS number in the room's " + field
	return Decision{Actions: []Action{
		{Kind: SetState, Rule: RulePatientID, EventType: eventType, Content: map[string]any{key: cleaned}, Text: "take an NHS number out of the room's " + field, Reason: why},
		{Kind: NotifyRoom, Rule: RulePatientID, Reason: why, Text: fmt.Sprintf(
			"I took an NHS number out of this room's %s: a room's %s is shown in invitations and room lists, outside the room. Please keep patient identifiers out of names and topics.", field, field)},
	}}
}
