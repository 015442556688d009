package gatekeeper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/caldicott/caldicott/policy"
)

// Reasons (metric label values) of the federation view.
const (
	// ReasonListStale: a trust that is a member only by a federation view
	// older than gatekeeper.max_list_age.
	ReasonListStale = "federation_list_stale"
	// ReasonListUnknown: the federation's leavers could not be read (the
	// store down, no view read before), for an invitation into a clinical room.
	ReasonListUnknown = "federation_list_unavailable"
)

// errListUnknown: nobody can say whether the federation's list bars the
// invitee.
var errListUnknown = errors.New("the federation view could not be read")

// rulesFor are the gate's rules with the federation as it stands in s.
func (g *Gatekeeper) rulesFor(s fedSnapshot) policy.GateRules {
	r := g.s.Rules
	r.FederationServers = g.fed.members(s)
	return r
}

// knownInvitee is what is known of an invitee before the invitation is
// sent: for this trust's staff, their directory entry; for another
// trust's, whether their trust published them as barred on the list. An
// error says which could not be read (errListUnknown, or the directory's).
func (g *Gatekeeper) knownInvitee(ctx context.Context, s fedSnapshot, user string) (policy.InviteeFacts, error) {
	f, err := g.inviteeFacts(ctx, user)
	if err != nil {
		g.fed.noteStore(ctx, err)
		return f, err
	}
	reason, known := g.fed.banReason(s, user)
	if !known {
		return f, errListUnknown
	}
	f.ListBan = reason
	return f, nil
}

// cannotCheck refuses what could not be judged, saying what could not be
// read; what is what was not done ("the invitation was not sent").
func cannotCheck(err error, what string) *Refusal {
	if errors.Is(err, errListUnknown) {
		return forbidden(ReasonListUnknown, fmt.Sprintf("I could not check the federation's list of staff who have left other trusts just now, so %s. Try again in a minute; if it keeps failing, tell your IT team.", what))
	}
	return forbidden(ReasonDirectoryUnknown, fmt.Sprintf("I could not check the staff directory just now, so %s. Try again in a minute; if it keeps failing, tell your IT team.", what))
}

// inviteRefused is the refusal of a decision against invitees: an
// invitee refused as outside the federation who is a member only by a
// view too old to trust is told so, not that their server is outside.
func (g *Gatekeeper) inviteRefused(s fedSnapshot, invitees []string, d policy.GateDecision) *Refusal {
	if d.Rule == policy.GateOutsideServer {
		if i := slices.IndexFunc(invitees, func(u string) bool { return g.fed.onlyInStaleView(s, serverOf(u)) }); i >= 0 {
			return forbidden(ReasonListStale, fmt.Sprintf("You cannot invite %s into this clinical room just now: this server has not been able to check the federation's list of member trusts for more than %s, and %s is a member only by that list. Try again once the list is back; tell your IT team if it does not come back.", invitees[i], g.s.MaxListAge, serverOf(invitees[i])))
		}
	}
	return forbidden(d.Rule, d.Reason)
}

// staleOrigin refuses a federation request from a trust that is a member
// only by a view too old to trust.
func (g *Gatekeeper) staleOrigin(origin, what string) *Refusal {
	return &Refusal{Status: http.StatusForbidden, ErrCode: "M_FORBIDDEN", Rule: ReasonListStale, Reason: fmt.Sprintf(
		"This server has not been able to check the federation's list of member trusts for more than %s, so for now it accepts requests to %s its rooms only from the trusts in its own configuration; %s is a member only by that list. Try again later.",
		g.s.MaxListAge, verbFor(what), origin)}
}
