package gatekeeper

import (
	"net/http"
	"slices"

	"github.com/caldicott/caldicott/policy"
)

// judgeState: PUT /rooms/{roomID}/state/{eventType}[/{stateKey}]. In a
// clinical room, a change that undoes a protection is refused, and so is
// an invitation sent as a membership event; in any room, a name or topic
// holding an NHS number.
func (g *Gatekeeper) judgeState(w http.ResponseWriter, r *http.Request) *Refusal {
	roomID, f := pathParam(r, "roomID")
	if f != nil {
		return f
	}
	eventType, f := pathParam(r, "eventType")
	if f != nil {
		return f
	}
	stateKey, f := pathParam(r, "stateKey")
	if f != nil {
		return f
	}
	body, f := readJudgedBody(w, r, g.s.MaxJudgedBody)
	if f != nil {
		return f
	}
	var content map[string]any
	if f := decodeJSON(body, &content); f != nil {
		return f
	}
	switch {
	case isRoomText(eventType):
		if holdsNHSNumber(content) {
			return patientIDInRoomText()
		}
	case eventType == "m.room.member":
		// A display name set in one room is shown as a room's name is.
		if holdsNHSNumber(policy.ContentField(content, "displayname")) {
			return patientIDInDisplayName()
		}
		// A membership sent as state is the invitation or the join the
		// endpoints send (Dendrite accepts both): judged as they are.
		switch policy.ContentString(content, "membership") {
		case "invite":
			return g.judgeInvitee(r, roomID, stateKey)
		case "join":
			return g.judgeJoiner(r, roomID)
		}
	case eventType == "m.room.third_party_invite":
		// An e-mail invitation written as state: the identity server's
		// callback (identity_onbind) would complete it for whoever binds
		// the address.
		return g.ifClinical(r, roomID, thirdPartyInviteRefused())
	case eventType == policy.PolicyEventType:
		if f := g.judgePolicyEdit(r, roomID, stateKey, content); f != nil {
			return f
		}
		// The class may change: judge the next request by the new one.
		g.classes.Forget(roomID)
	case slices.Contains(policy.HardeningEventTypes, eventType):
		if d := policy.StateChangeGate(eventType, content, g.s.Rules.Requirements); !d.Allow {
			return g.ifClinical(r, roomID, forbidden(d.Rule, d.Reason))
		}
	}
	return nil
}
