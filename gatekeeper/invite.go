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
		// A third-party invite (by e-mail): Dendrite looks the address up
		// at an identity server and invites whichever account it names,
		// whatever user_id says (found in review).
		IDServer string `json:"id_server"`
		Medium   string `json:"medium"`
		Address  string `json:"address"`
	}
	if f := decodeJSON(body, &req); f != nil {
		return f
	}
	if req.IDServer != "" || req.Medium != "" || req.Address != "" {
		return g.ifClinical(r, roomID, thirdPartyInviteRefused())
	}
	if req.UserID == nil {
		return nil // no invitee: Dendrite answers it
	}
	return g.judgeInvitee(r, roomID, *req.UserID)
}

// judgeInvitee refuses an invitation of invitee into the room, if
// clinical. The invitee's server is judged first (against the federation
// as it stands now); this trust's staff are then looked up in the
// directory, another trust's on the federation's list of leavers. When
// either cannot be read, an invitation into a clinical room is refused,
// saying why.
func (g *Gatekeeper) judgeInvitee(r *http.Request, roomID, invitee string) *Refusal {
	s := g.fed.current(r.Context())
	rules := g.rulesFor(s)
	if d := policy.InviteGate(policy.InviteeFacts{UserID: invitee}, rules); !d.Allow {
		return g.ifClinical(r, roomID, g.inviteRefused(s, []string{invitee}, d))
	}
	facts, err := g.knownInvitee(r.Context(), s, invitee)
	if err != nil {
		return g.ifClinical(r, roomID, cannotCheck(err, "the invitation was not sent (this is a clinical room)"))
	}
	if d := policy.InviteGate(facts, rules); !d.Allow {
		return g.ifClinical(r, roomID, g.inviteRefused(s, []string{invitee}, d))
	}
	return g.judgeFilters(r, roomID, facts, g.inviteGate)
}
