package policy

import "fmt"

// Removals and invitations a person or a schedule asks for.

// RemoveUnconfirmed removes the members of a clinical room whose review was
// never confirmed, room admins and the bot excepted.
func RemoveUnconfirmed(members []string, pl PowerLevels, isIGAdmin func(string) bool, botUserID string) Decision {
	var d Decision
	for _, uid := range members {
		if uid == botUserID || IsRoomAdmin(uid, pl, isIGAdmin(uid)) {
			continue
		}
		d.Actions = append(d.Actions, Action{Kind: Kick, Rule: RuleReviewUnconfirmed, UserID: uid,
			Text:   "The membership review of this clinical room was not confirmed by its admins in time, so its members were removed. Ask a room admin to invite you back.",
			Reason: "review not confirmed by the deadline"})
	}
	return d
}

// RemoveByAdmin removes user at a room admin's command.
func RemoveByAdmin(user, admin, reason string) Decision {
	text := "Removed from this clinical room by " + admin
	if reason != "" {
		text += ": " + reason
	}
	return Decision{Actions: []Action{{Kind: Kick, Rule: RuleRemovedByAdmin, UserID: user, Text: text, Reason: "removed by " + admin + "; " + orWord(reason, "no reason given")}}}
}

// InvitationToRequest withdraws an invitation sent by a member who is not a
// room admin and asks the admins instead; invitee is described for them.
func InvitationToRequest(inviter, invitee, describedInvitee string) Decision {
	return Decision{Actions: []Action{
		{Kind: Kick, Rule: RuleInviteNeedsApproval, UserID: invitee,
			Text:   "Invitations to clinical rooms need a room admin's approval. I have asked the admins; they will invite you if they agree.",
			Reason: fmt.Sprintf("invited by %s, who is not a room admin", inviter)},
		{Kind: NotifyRoom, Rule: RuleInviteNeedsApproval,
			Text: fmt.Sprintf("%s invited %s. In clinical rooms invitations need a room admin's approval, so I have withdrawn it for now.\nRoom admins: `!policy approve %s` or `!policy deny %s [reason]`.",
				inviter, describedInvitee, invitee, invitee),
			Reason: "request put to the room's admins"},
	}}
}

// Approve invites an approved requester.
func Approve(user, approver, reason string) Decision {
	return Decision{Actions: []Action{{Kind: Invite, Rule: RuleApproval, UserID: user, Text: "approved by " + approver, Reason: user + " " + reason}}}
}

// SpaceLinkRemoval undoes a link between a space and a room of classes that
// must not meet (where it was made: eventType/stateKey in the decision's
// room), and tells the room and the IG team.
func SpaceLinkRemoval(sender, spaceID, roomID, eventType, stateKey, problem string) Decision {
	text := fmt.Sprintf("%s linked room %s into space %s, but %s. I have removed the link.", sender, roomID, spaceID, problem)
	return Decision{Actions: []Action{
		{Kind: SetState, Rule: RuleSpaceLink, EventType: eventType, StateKey: stateKey, Content: map[string]any{}, Text: "space link removed", Reason: problem},
		{Kind: NotifyRoom, Rule: RuleSpaceLink, Text: text, Reason: problem},
		{Kind: NotifyManagement, Rule: RuleSpaceLink, Text: text, Reason: problem},
	}}
}
