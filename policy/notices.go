package policy

// Notices and replies: the decisions whose whole effect is to tell someone
// something. The text is the caller's; the rule says why it is said.

// ReplyTo answers the command event eventID.
func ReplyTo(eventID, text string) Decision {
	return Decision{Actions: []Action{{Kind: Reply, Rule: RuleCommandReply, EventID: eventID, Text: text, Reason: "answer to a command"}}}
}

// RoomNotice tells the room the decision is about.
func RoomNotice(rule, text, reason string) Decision {
	return Decision{Actions: []Action{{Kind: NotifyRoom, Rule: rule, Text: text, Reason: reason}}}
}

// ManagementNotice tells the trust's IG team in the management room.
func ManagementNotice(rule, text, reason string) Decision {
	return Decision{Actions: []Action{{Kind: NotifyManagement, Rule: rule, Text: text, Reason: reason}}}
}

// RoomAndManagementNotice tells both the room and the IG team.
func RoomAndManagementNotice(rule, text, reason string) Decision {
	return Decision{Actions: []Action{
		{Kind: NotifyRoom, Rule: rule, Text: text, Reason: reason},
		{Kind: NotifyManagement, Rule: rule, Text: text, Reason: reason},
	}}
}

// TellUser tells one person privately: in room when it is their direct
// chat with the bot, else in one opened for it.
func TellUser(rule, userID, room, text, reason string) Decision {
	return Decision{Actions: []Action{{Kind: NotifyUser, Rule: rule, UserID: userID, Target: room, Text: text, Reason: reason}}}
}

// Then appends the actions of other after d's.
func (d Decision) Then(other Decision) Decision {
	d.Actions = append(append([]Action(nil), d.Actions...), other.Actions...)
	d.Problems = append(append([]Problem(nil), d.Problems...), other.Problems...)
	return d
}

// Without drops the actions keep rejects; the executor's callers use it
// to rate-limit a notice (see GateDirectoryMissing).
func (d Decision) Without(drop func(Action) bool) Decision {
	out := Decision{Problems: d.Problems}
	for _, a := range d.Actions {
		if !drop(a) {
			out.Actions = append(out.Actions, a)
		}
	}
	return out
}
