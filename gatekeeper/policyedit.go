package gatekeeper

import (
	"errors"
	"net/http"
	"slices"

	"github.com/caldicott/caldicott/policy"
)

// judgePolicyEdit: a PUT of the room's org.caldicott.policy that would
// move a clinical room out of clinical (another class, none, an emptied
// content) is refused unless the bot sends it or an IG admin of the
// room's own trust (policy.PolicyEditGate): the appservice would set it
// back. Edits that keep the class (roles, teams, options) pass, as the
// appservice keeps them.
func (g *Gatekeeper) judgePolicyEdit(r *http.Request, roomID, stateKey string, content map[string]any) *Refusal {
	if stateKey != "" {
		return nil // not the room's policy
	}
	if f := g.judgeClinicalVersion(r, roomID, content); f != nil {
		return f
	}
	if policy.PolicyEditGate(policy.Clinical, content, false).Allow {
		return nil // it stays clinical whatever it was
	}
	editor, err := g.identities.Who(r.Context(), userAuth(r), r.URL.Query().Get("user_id"))
	switch {
	case errors.Is(err, errNoCredentials):
		return nil // Dendrite refuses it
	case rateLimited(err) != nil:
		return rateLimited(err)
	case err != nil:
		g.metrics.RoomStateFailure.Inc()
		return roomStateUnknown()
	case editor == g.s.Rules.BotUserID:
		return nil // the bot writes the IG team's decisions
	}
	return g.byClass(r, roomID, func(c policy.Class) *Refusal {
		d := policy.PolicyEditGate(c, content, false)
		if d.Allow {
			return nil
		}
		if slices.Contains(g.s.IGAdmins, editor) {
			s, err := g.classes.settings(r.Context(), roomID)
			if err != nil {
				g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read who created the room; refusing an IG admin's downgrade")
				return roomStateUnknown()
			}
			d = policy.PolicyEditGate(c, content, policy.IGAdminHere(true, s.creator(), g.s.Rules.OwnServer))
		}
		if !d.Allow {
			return forbidden(d.Rule, d.Reason)
		}
		return nil
	})
}
