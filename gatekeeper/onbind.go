package gatekeeper

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// EndpointIdentityOnbind: POST /_matrix/federation/v1/3pid/onbind, the
// callback an identity server makes when an e-mail address invited to rooms
// is bound to an account. Dendrite (v0.15.2) turns each pending invite it
// lists into an invitation of that account, sent as the original inviter;
// it asks for no credentials (the identity server's signature over each
// invite is checked against the room's m.room.third_party_invite).
const EndpointIdentityOnbind = "identity_onbind"

// maxOnbindRooms bounds the rooms one callback may complete invitations
// into: one address is invited into a few rooms, not hundreds.
const maxOnbindRooms = 50

// judgeOnbind refuses the callback when it would invite anyone into a
// clinical room: invitations by e-mail are refused there (client_invite,
// and m.room.third_party_invite in client_state), because nobody here can
// check whom the address belongs to, so none may be completed either. A
// room the bot is not in passes (the appservice does not guard it); one
// whose class cannot be read refuses (it may be clinical).
func (g *Gatekeeper) judgeOnbind(w http.ResponseWriter, r *http.Request) *Refusal {
	body, f := readJudgedBody(w, r, g.s.MaxJudgedBody)
	if f != nil {
		return f
	}
	var req struct {
		Invites []struct {
			RoomID string `json:"room_id"`
		} `json:"invites"`
	}
	if f := decodeJSON(body, &req); f != nil {
		return f
	}
	var rooms []string // each once, in the order listed
	seen := map[string]bool{}
	for _, inv := range req.Invites {
		if !seen[inv.RoomID] && len(rooms) <= maxOnbindRooms {
			seen[inv.RoomID] = true
			rooms = append(rooms, inv.RoomID)
		}
	}
	if len(rooms) > maxOnbindRooms {
		// Each room is a read of its state: an unbounded list would be
		// an unbounded burst of reads, asked for by anyone (the callback
		// carries no credentials).
		return &Refusal{Status: http.StatusBadRequest, ErrCode: "M_UNKNOWN", Rule: ReasonTooLarge,
			Reason: fmt.Sprintf("This binding completes invitations into more than %d rooms, more than are judged at once.", maxOnbindRooms)}
	}
	for _, roomID := range rooms {
		p, err := g.classes.Policy(r.Context(), roomID, "")
		switch {
		case errors.Is(err, errNotMember):
		case err != nil:
			g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the class of a room an identity server completes an invitation into; refusing")
			return roomStateUnknown()
		case p.Class == policy.Clinical:
			return thirdPartyInviteRefused()
		}
	}
	return nil
}

func thirdPartyInviteRefused() *Refusal {
	return forbidden(ReasonThirdPartyInvite,
		"Invitations by e-mail address cannot be sent into a clinical room: Caldicott cannot check who the address belongs to. Invite the person's account (@name:server) instead.")
}
