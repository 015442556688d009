package policy

import (
	"fmt"
	"strings"
)

// GateMode says when the gate runs, which shapes what it does.
type GateMode int

// When members are judged.
const (
	// OnJoin: someone just joined or was invited.
	OnJoin GateMode = iota
	// OnClassify: a room just became clinical; every member is judged as a
	// joiner would be, without identity notices.
	OnClassify
	// OnSweep: the periodic check of every member against the directory.
	// Only explicit directory verdicts (suspended, left, wrong role or team)
	// remove anyone: a person merely missing from the directory is left in
	// place, so a half-loaded directory cannot empty the clinical rooms.
	OnSweep
)

// MemberCheck is everything needed to judge one member.
type MemberCheck struct {
	JoinFacts
	Mode        GateMode
	DisplayName string
	// Others maps the room's other members to their display names.
	Others map[string]string
	// StaffNames maps staff of this trust whose directory name may look like
	// the joiner's name to that name: store.StaffNamed(ShownName(UserID,
	// DisplayName)). A name imitating one of them is flagged. Only joins
	// need it; nil skips the check.
	StaffNames map[string]string
}

// JudgeMember decides what to do about one member of a room: remove them
// with a reason, or — on join — post their directory identity with any
// warning about their display name.
func JudgeMember(m MemberCheck, g GateRules) Decision {
	var d Decision
	gd := JoinGate(m.JoinFacts, g)
	if gd.Rule == GateNotClinical || gd.Rule == GateBot {
		return d
	}
	if gd.Warning != "" {
		d.Actions = append(d.Actions, Action{Kind: NotifyManagement, Rule: gd.Rule, Text: gd.Warning, Reason: "directory unavailable for " + m.UserID})
	}
	if !gd.Allow && !(m.Mode == OnSweep && gd.Rule == GateNotInDirectory) {
		verb := "joined"
		if m.Membership == MembershipInvite {
			verb = "was invited"
		}
		if m.Mode == OnSweep {
			verb = "is a member"
		}
		d.Actions = append(d.Actions,
			Action{Kind: Kick, Rule: gd.Rule, UserID: m.UserID, Text: gd.Reason, Reason: fmt.Sprintf("%s %s but fails the %s rule", m.UserID, verb, gd.Rule)},
			Action{Kind: NotifyRoom, Rule: gd.Rule, Text: fmt.Sprintf("I removed %s from this clinical room (%s). They have been told why.", m.UserID, gateSummary(gd.Rule)), Reason: "removal explained to the room"},
		)
		return d
	}
	if m.Mode != OnJoin || m.Membership != MembershipJoin {
		return d
	}
	// Only joins get the identity notice; classification and sweeps are quiet.
	var lines []string
	switch {
	case m.Entry != nil:
		lines = append(lines, fmt.Sprintf("%s joined: %s.", m.UserID, m.Entry.Identity(g.TrustName)))
	case gd.Rule == GateFederatedTrust:
		lines = append(lines, fmt.Sprintf("%s joined from %s, a trust of this federation.", m.UserID, serverOf(m.UserID)))
	}
	lines = append(lines, IdentityFlags(m, g)...)
	if len(lines) > 0 {
		d.Actions = append(d.Actions, Action{Kind: NotifyRoom, Rule: RuleIdentity, Text: strings.Join(lines, "\n"), Reason: "identity of joiner shown"})
	}
	return d
}

func gateSummary(rule string) string {
	switch rule {
	case GateBridgePuppet:
		return "a bridged account"
	case GateOutsideServer:
		return "an account outside the federation of trusts"
	case GateNotInDirectory:
		return "not in the staff directory"
	case GateSuspended:
		return "suspended in the staff directory"
	case GateLeft:
		return "has left the trust"
	case GateRoleNotAllowed:
		return "role not allowed in this room"
	case GateTeamNotAllowed:
		return "team not allowed in this room"
	case GateHeld:
		return "held out of clinical rooms by the IG team"
	}
	return rule
}
