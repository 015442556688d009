package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// Membership is what happened to a user in a room.
type Membership string

// Memberships the gate judges.
const (
	MembershipJoin   Membership = "join"
	MembershipInvite Membership = "invite"
)

// JoinFacts is what the gate knows about someone entering a room.
type JoinFacts struct {
	UserID     string
	Membership Membership
	Class      Class
	// AllowedRoles and AllowedTeams narrow a clinical room (empty: anyone eligible).
	AllowedRoles []string
	AllowedTeams []string
	// Entry is the user's own-trust directory entry; nil when not found.
	Entry *StaffEntry
	// HeldReason is set when the person is held out of clinical rooms
	// (e.g. after a lost device) until an IG admin releases them.
	HeldReason string
	// ListBan is set when the person's own trust has published them on the
	// federation's policy list (a leaver, a suspension): the reason given.
	ListBan string
	// DirectoryEmpty is true when the trust's directory has nobody in it
	// (never synced, or a broken sync): the gate then removes no one of our
	// own trust rather than everyone.
	DirectoryEmpty bool
	// OutranksFilters is true when the person's power level in the room is
	// at or above the reach of its role and team filters
	// (RoomFacts.FilterReach): the filters act for whoever set them, who
	// could not have removed this person themselves.
	OutranksFilters bool
}

// GateRules are the parts of config the gate needs.
type GateRules struct {
	Requirements
	TrustName string
	// BridgeNamespaces are the user-ID patterns of bridges' puppets.
	BridgeNamespaces []*regexp.Regexp
}

// GateDecision says whether someone may stay and, if not, why — in words
// the person can act on.
type GateDecision struct {
	Allow bool
	Rule  string
	// Reason is addressed to the person removed.
	Reason string
	// Warning is set when the person may stay but an admin should know.
	Warning string
}

// Gate rule names.
const (
	GateNotClinical      = "not_clinical"
	GateBot              = "bot"
	GateBridgePuppet     = "bridge_puppet"
	GateOutsideServer    = "outside_server"
	GateFederatedTrust   = "federated_trust"
	GateNotInDirectory   = "not_in_directory"
	GateSuspended        = "suspended"
	GateLeft             = "left"
	GateRoleNotAllowed   = "role_not_allowed"
	GateTeamNotAllowed   = "team_not_allowed"
	GateDirectoryMissing = "directory_empty"
	GateEligible         = "eligible"
	GateHeld             = "held"
	GateListBanned       = "federation_list"
	// GateOutranksFilters: fails the room's role or team filter, but is at
	// or above the level of whoever set it; someone with more power decides.
	GateOutranksFilters = "outranks_filters"
)

// JoinGate decides whether a joiner (or invitee) may be in a room.
func JoinGate(j JoinFacts, g GateRules) GateDecision {
	if j.Class != Clinical {
		return GateDecision{Allow: true, Rule: GateNotClinical}
	}
	if j.UserID == g.BotUserID {
		return GateDecision{Allow: true, Rule: GateBot}
	}
	for _, re := range g.BridgeNamespaces {
		if re.MatchString(j.UserID) {
			return GateDecision{Rule: GateBridgePuppet, Reason: fmt.Sprintf("%s is a bridged account (a puppet of another messaging app). Bridged and personal accounts cannot join clinical rooms; join from your %s Matrix account.", j.UserID, g.TrustName)}
		}
	}
	server := serverOf(j.UserID)
	if server != g.OwnServer {
		if InFederation(server, g.FederationServers) {
			// Their own trust judges them against its directory and tells the
			// federation, on the policy list, who has left or is suspended.
			if j.ListBan != "" {
				return GateDecision{Rule: GateListBanned, Reason: fmt.Sprintf("Your own trust has told the federation that you may no longer be in clinical rooms (%s). If this is wrong, contact your trust's IG team.", j.ListBan)}
			}
			return GateDecision{Allow: true, Rule: GateFederatedTrust}
		}
		return GateDecision{Rule: GateOutsideServer, Reason: fmt.Sprintf("Accounts on %s are personal accounts or belong to an organisation outside this federation of trusts, so they cannot join clinical rooms. Use your NHS trust's Matrix account.", orWord(server, "that server"))}
	}
	if j.HeldReason != "" {
		return GateDecision{Rule: GateHeld, Reason: fmt.Sprintf("You are held out of the clinical rooms of %s: %s. Your IG team will let you back once you have verified your identity.", g.TrustName, j.HeldReason)}
	}
	if j.Entry == nil {
		if j.DirectoryEmpty {
			return GateDecision{Allow: true, Rule: GateDirectoryMissing, Warning: fmt.Sprintf("The staff directory of %s is empty, so I could not check %s. Nobody is removed until the directory is loaded.", g.TrustName, j.UserID)}
		}
		return GateDecision{Rule: GateNotInDirectory, Reason: fmt.Sprintf("Your account %s is not in the staff directory of %s. Ask your IG or IT team to add you, then ask the room's admins to invite you again.", j.UserID, g.TrustName)}
	}
	switch j.Entry.Status {
	case StatusSuspended:
		return GateDecision{Rule: GateSuspended, Reason: fmt.Sprintf("The staff directory of %s lists your account as suspended, so you cannot be in clinical rooms. Speak to your line manager or IG team.", g.TrustName)}
	case StatusLeft:
		return GateDecision{Rule: GateLeft, Reason: fmt.Sprintf("The staff directory of %s records that you have left the trust, so you cannot be in its clinical rooms. If this is wrong, contact your IG team.", g.TrustName)}
	}
	if j.OutranksFilters && !fitsFilters(j) {
		return GateDecision{Allow: true, Rule: GateOutranksFilters}
	}
	if len(j.AllowedRoles) > 0 && !containsFold(j.AllowedRoles, j.Entry.Role) {
		return GateDecision{Rule: GateRoleNotAllowed, Reason: fmt.Sprintf("This room is for %s; the staff directory lists you as %s. Ask the room's admins if you need to be here.", strings.Join(j.AllowedRoles, ", "), orWord(j.Entry.Role, "having no role"))}
	}
	if len(j.AllowedTeams) > 0 && !containsFold(j.AllowedTeams, j.Entry.Team) {
		return GateDecision{Rule: GateTeamNotAllowed, Reason: fmt.Sprintf("This room is for the %s team(s); the staff directory lists you in %s. Ask the room's admins if you need to be here.", strings.Join(j.AllowedTeams, ", "), orWord(j.Entry.Team, "no team"))}
	}
	return GateDecision{Allow: true, Rule: GateEligible}
}

// fitsFilters: the person's directory role and team are among those the
// room allows (either filter empty allows anyone).
func fitsFilters(j JoinFacts) bool {
	return (len(j.AllowedRoles) == 0 || containsFold(j.AllowedRoles, j.Entry.Role)) &&
		(len(j.AllowedTeams) == 0 || containsFold(j.AllowedTeams, j.Entry.Team))
}

// InFederation reports whether server is one of the federation's servers.
// An entry without a port matches that host on any port, as ACLs do.
func InFederation(server string, servers []string) bool {
	host, _, _ := spec.ParseAndValidateServerName(spec.ServerName(server))
	for _, s := range servers {
		if s == server {
			return true
		}
		if !strings.Contains(strings.TrimPrefix(s, "["), ":") || strings.HasSuffix(s, "]") {
			if h, _, ok := spec.ParseAndValidateServerName(spec.ServerName(s)); ok && h == host {
				return true
			}
		}
	}
	return false
}

func serverOf(userID string) string {
	_, server, ok := strings.Cut(userID, ":")
	if !ok {
		return ""
	}
	return server
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}
