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

// judgeInvitee refuses an invitation of invitee into the room, if clinical.
func (g *Gatekeeper) judgeInvitee(r *http.Request, roomID, invitee string) *Refusal {
	d := policy.InviteGate(invitee, g.s.Rules)
	if d.Allow {
		return nil
	}
	return g.ifClinical(r, roomID, forbidden(d.Rule, d.Reason))
}
