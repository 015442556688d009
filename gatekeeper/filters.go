package gatekeeper

import (
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// judgeFilters refuses someone of this trust, already found eligible on
// their own facts, whom a clinical room's role or team filters keep out
// (and whose power in the room does not put them out of the filters'
// reach), with gate's words (an invitation's or a join's). What cannot be
// read here (the room's state) is left to the appservice, which checks
// everyone who arrives: an eligible colleague is not held up by a read
// that failed.
func (g *Gatekeeper) judgeFilters(r *http.Request, roomID string, facts policy.InviteeFacts, gate func(policy.InviteeFacts) policy.GateDecision) *Refusal {
	if facts.Entry == nil || serverOf(facts.UserID) != g.s.Rules.OwnServer {
		return nil // the filters judge directory entries of this trust only
	}
	if err := g.identities.Check(r.Context(), userAuth(r)); err != nil {
		return nil // unknown credentials: Dendrite refuses; nothing about the room is told
	}
	p, err := g.classes.Policy(r.Context(), roomID, userAuth(r))
	if err != nil {
		g.log.Debug().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's filters; the appservice checks arrivals")
		return nil
	}
	if p.Class != policy.Clinical || len(p.AllowedRoles) == 0 && len(p.AllowedTeams) == 0 {
		return nil
	}
	facts.AllowedRoles, facts.AllowedTeams = p.AllowedRoles, p.AllowedTeams
	if gate(facts).Allow {
		return nil
	}
	outranks, err := g.outranksFilters(r.Context(), roomID, facts.UserID)
	if err != nil {
		g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's power levels; the appservice checks arrivals")
		return nil
	}
	facts.OutranksFilters = outranks
	if d := gate(facts); !d.Allow {
		return forbidden(d.Rule, d.Reason)
	}
	return nil
}

// inviteGate and joinGate judge someone entering a clinical room, in the
// words for the one inviting and for the one joining.
func (g *Gatekeeper) inviteGate(f policy.InviteeFacts) policy.GateDecision {
	return policy.InviteGate(f, g.s.Rules)
}

func (g *Gatekeeper) joinGate(f policy.InviteeFacts) policy.GateDecision {
	return policy.JoinGate(f.JoinFacts(policy.MembershipJoin), g.s.Rules)
}
