package gatekeeper

import (
	"fmt"
	"net/http"

	"github.com/caldicott/caldicott/policy"
)

// judgeOrigin refuses a federation request (an invitation, a join, a
// knock: what brings a server into a room) from a server outside the
// federation. Only the X-Matrix origin is read here: whether the request
// really comes from it is Dendrite's check of the signature, downstream.
// Transactions (/send) are not judged: one refused event would stall the
// sending server, so what arrives in them is left to the appservice.
func (g *Gatekeeper) judgeOrigin(what string) func(http.ResponseWriter, *http.Request) *Refusal {
	return func(_ http.ResponseWriter, r *http.Request) *Refusal {
		origin, err := xMatrixOrigin(r.Header)
		if err != nil {
			return &Refusal{Status: http.StatusUnauthorized, ErrCode: "M_UNAUTHORIZED", Reason: "Federation requests must carry one X-Matrix authorization naming their origin server.", Rule: ReasonNoOrigin}
		}
		if origin == g.s.Rules.OwnServer {
			return nil
		}
		s := g.fed.current(r.Context())
		if policy.InFederation(origin, g.fed.members(s)) {
			return nil
		}
		if g.fed.onlyInStaleView(s, origin) {
			return g.staleOrigin(origin, what)
		}
		return forbidden(ReasonOutsideOrigin, fmt.Sprintf("The server %s is not a member of this federation of NHS trusts, so it cannot %s rooms on this server.", origin, verbFor(what)))
	}
}

func verbFor(what string) string {
	switch what {
	case "invite":
		return "invite people here into"
	case "knock":
		return "knock on"
	}
	return "join"
}
