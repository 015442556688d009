package hardening

import (
	"cmp"
	"slices"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Risk ranks for the order of a reconciliation: what could have gone
// unprotected while Caldicott was away is checked first, so that with ten
// thousand rooms the riskiest are repaired in the first seconds after
// start, not the last minutes.
const (
	riskUnknown      = iota // no record: joined or created while away
	riskNotCompliant        // clinical, and not compliant when last seen
	riskClinical            // clinical, compliant when last seen
	riskOther               // recorded as not clinical
)

// byRisk orders rooms riskiest first (riskUnknown to riskOther), keeping
// the homeserver's order within a rank.
func byRisk(rooms []id.RoomID, known []store.RoomPolicy) []id.RoomID {
	rank := make(map[id.RoomID]int, len(known))
	for _, p := range known {
		switch {
		case p.Class != string(policy.Clinical):
			rank[id.RoomID(p.RoomID)] = riskOther
		case !p.Compliant:
			rank[id.RoomID(p.RoomID)] = riskNotCompliant
		default:
			rank[id.RoomID(p.RoomID)] = riskClinical
		}
	}
	ordered := slices.Clone(rooms)
	slices.SortStableFunc(ordered, func(a, b id.RoomID) int {
		ra, ok := rank[a]
		if !ok {
			ra = riskUnknown
		}
		rb, ok := rank[b]
		if !ok {
			rb = riskUnknown
		}
		return cmp.Compare(ra, rb)
	})
	return ordered
}
