package gatekeeper

import (
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// judgeInvite: POST /rooms/{roomID}/invite. An invitee who could not be in
// a clinical room (a server outside the federation, a bridge puppet) is
// not invited into one: the invitation, with the room's name, would
// already have reached their server.
func (g *Gatekeeper) judgeInvite(w http.ResponseWriter, r *http.Request) *Refusal {
	roomID, f := pathParam(r, "roomID")
	if f != nil {
		return f
	}
	body, f := readJudgedBody(w, r, g.s.MaxJudgedBody)
	if f != nil {
		return f
	}
	var req struct {
		UserID *string `json:"user_id"`
	}
	if f := decodeJSON(body, &req); f != nil {
		return f
	}
	if req.UserID == nil {
		return nil // a third-party (e-mail) invite: Dendrite's to handle
	}
	return g.judgeInvitee(r, roomID, *req.UserID)
}

// judgeInvitee refuses an invitation of invitee into the room, if
// clinical. The invitee's server is judged first; this trust's staff are
// then looked up in the directory. When the directory cannot be read, an
// invitation into a clinical room is refused, saying why.
func (g *Gatekeeper) judgeInvitee(r *http.Request, roomID, invitee string) *Refusal {
	if d := policy.InviteGate(policy.InviteeFacts{UserID: invitee}, g.s.Rules); !d.Allow {
		return g.ifClinical(r, roomID, forbidden(d.Rule, d.Reason))
	}
	facts, err := g.inviteeFacts(r.Context(), invitee)
	if err != nil {
		g.log.Warn().Err(err).Str("room_id", roomID).Msg("Could not read the staff directory; refusing invitations into clinical rooms")
		return g.ifClinical(r, roomID, forbidden(ReasonDirectoryUnknown, "I could not check the staff directory just now, so the invitation was not sent (this is a clinical room). Try again in a minute; if it keeps failing, tell your IT team."))
	}
	if d := policy.InviteGate(facts, g.s.Rules); !d.Allow {
		return g.ifClinical(r, roomID, forbidden(d.Rule, d.Reason))
	}
	return g.judgeFilters(r, roomID, facts, g.inviteGate)
}
