package gatekeeper

import (
	"errors"
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// judgeFilters refuses someone of this trust, already found eligible on
// their own facts, whom a clinical room's role or team filters keep out
// (and whose power in the room does not put them out of the filters'
// reach), with gate's words (an invitation's or a join's). What cannot be
// read (the caller's credentials, the room's class or filters, its power
// levels) refuses where the room may be a clinical one with filters, in
// the words of a database outage, and passes where it is known not to be:
// fail closed where a clinical room is concerned, open for the rest.
func (g *Gatekeeper) judgeFilters(r *http.Request, roomID string, facts policy.InviteeFacts, gate func(policy.InviteeFacts) policy.GateDecision) *Refusal {
	if facts.Entry == nil || serverOf(facts.UserID) != g.s.Rules.OwnServer {
		return nil // the filters judge directory entries of this trust only
	}
	auth := userAuth(r)
	authErr := g.identities.Check(r.Context(), auth)
	switch {
	case errors.Is(authErr, errNoCredentials):
		return nil // unknown credentials: Dendrite refuses; nothing about the room is told
	case rateLimited(authErr) != nil:
		return rateLimited(authErr)
	case authErr != nil:
		g.metrics.RoomStateFailure.Inc()
		g.log.Warn().Err(authErr).Msg("Could not check a client's credentials; judging the room's filters as the bot alone")
		auth = "" // credentials not vouched for: the room is read as the bot only
	}
	p, err := g.classes.Policy(r.Context(), roomID, auth)
	switch {
	case errors.Is(err, errNotMember):
		return nil // the bot is not in it: the appservice does not guard it either
	case err != nil:
		g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's filters; refusing (it may be a clinical room)")
		return roomStateUnknown()
	case p.Class != policy.Clinical || len(p.AllowedRoles) == 0 && len(p.AllowedTeams) == 0:
		return nil
	case authErr != nil:
		return roomStateUnknown()
	}
	facts.AllowedRoles, facts.AllowedTeams = p.AllowedRoles, p.AllowedTeams
	if gate(facts).Allow {
		return nil
	}
	outranks, err := g.outranksFilters(r.Context(), roomID, facts.UserID)
	if err != nil {
		g.metrics.RoomStateFailure.Inc()
		g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's power levels; refusing someone outside its filters")
		return roomStateUnknown()
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
