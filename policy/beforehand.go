package policy

import (
	"fmt"
	"strings"
)

// The rules in this file judge a request before the homeserver accepts it
// (the gatekeeper's line), with the same rules the appservice applies after
// the fact. Their reasons are addressed to the person who asked: the one
// inviting, creating the room or changing its settings.

// Gate rules of judgements made beforehand.
const (
	// GateHardening: a state change would undo a clinical room's protections.
	GateHardening = "hardening"
	// GatePublicRoom: a new clinical room would be listed in the public directory.
	GatePublicRoom = "public_room"
	// GateOwnTrust: an invitee of this trust whose directory entry was not
	// looked up (or the directory is empty); the appservice checks them
	// when they arrive.
	GateOwnTrust = "own_trust"
)

// InviteeFacts is what is known of someone invited into a clinical room
// before the invitation is sent.
type InviteeFacts struct {
	UserID string
	// DirectoryChecked: Entry and DirectoryEmpty were looked up (the
	// invitee is of this trust, and the directory could be read).
	DirectoryChecked bool
	// Entry is the invitee's directory entry; nil when not found.
	Entry *StaffEntry
	// DirectoryEmpty: the directory holds nobody (never synced, or a broken
	// sync); nobody of this trust is then refused for not being in it.
	DirectoryEmpty bool
	// HeldReason: the invitee is held out of clinical rooms (a lost device)
	// until an IG admin releases them.
	HeldReason string
	// AllowedRoles and AllowedTeams are the room's filters, and
	// OutranksFilters whether the invitee is out of their reach, as in
	// JoinFacts.
	AllowedRoles, AllowedTeams []string
	OutranksFilters            bool
	// ListBan is the reason another trust gave on the federation's policy
	// list for barring the invitee (a leaver, a suspension); "" if none.
	ListBan string
}

// JoinFacts are the join gate's facts for someone entering a clinical
// room, from what is known of them beforehand. Someone of this trust whose
// entry was not looked up is judged as with an empty directory: the
// appservice checks them when they arrive.
func (i InviteeFacts) JoinFacts(m Membership) JoinFacts {
	return JoinFacts{UserID: i.UserID, Membership: m, Class: Clinical, Entry: i.Entry, DirectoryEmpty: i.DirectoryEmpty || !i.DirectoryChecked,
		HeldReason: i.HeldReason, AllowedRoles: i.AllowedRoles, AllowedTeams: i.AllowedTeams, OutranksFilters: i.OutranksFilters, ListBan: i.ListBan}
}

// InviteGate judges an invitation into a clinical room, with the join
// gate's rules, on what is known before it is sent: the invitee's server,
// whether they are a bridge puppet, and, for this trust's staff when it
// was looked up, their directory entry, a hold and the room's role and
// team filters.
func InviteGate(i InviteeFacts, g GateRules) GateDecision {
	d := JoinGate(i.JoinFacts(MembershipInvite), g)
	cannot := fmt.Sprintf("You cannot invite %s into this clinical room: ", i.UserID)
	switch d.Rule {
	case GateBridgePuppet:
		d.Reason = cannot + "it is a bridged account (a puppet of another messaging app such as WhatsApp), and patient information must not leave the trusts' Matrix servers. Invite the person's own NHS trust Matrix account instead."
	case GateOutsideServer:
		d.Reason = cannot + fmt.Sprintf("accounts on %s are personal accounts or belong to an organisation outside this federation of NHS trusts. Invite the person's NHS trust Matrix account instead, or ask your IG team if their organisation should join the federation.", orWord(serverOf(i.UserID), "that server"))
	case GateListBanned:
		d.Reason = cannot + fmt.Sprintf("their own trust has told the federation that they may no longer be in clinical rooms (%s). If this is wrong, ask their trust's IG team.", i.ListBan)
	case GateNotInDirectory:
		d.Reason = cannot + fmt.Sprintf("they are not in the staff directory of %s. Ask your IG or IT team to add them, then invite them again.", g.TrustName)
	case GateSuspended:
		d.Reason = cannot + fmt.Sprintf("the staff directory of %s lists their account as suspended.", g.TrustName)
	case GateLeft:
		d.Reason = cannot + fmt.Sprintf("the staff directory of %s records that they have left the trust.", g.TrustName)
	case GateHeld:
		d.Reason = cannot + fmt.Sprintf("they are held out of the clinical rooms of %s (%s) until your IG team releases them.", g.TrustName, i.HeldReason)
	case GateRoleNotAllowed:
		d.Reason = cannot + fmt.Sprintf("it is for %s, and the staff directory lists them as %s. If they need to be here, a room admin can change the room's roles.", strings.Join(i.AllowedRoles, ", "), orWord(i.Entry.Role, "having no role"))
	case GateTeamNotAllowed:
		d.Reason = cannot + fmt.Sprintf("it is for the %s team(s), and the staff directory lists them in %s. If they need to be here, a room admin can change the room's teams.", strings.Join(i.AllowedTeams, ", "), orWord(i.Entry.Team, "no team"))
	case GateDirectoryMissing:
		return GateDecision{Allow: true, Rule: GateOwnTrust}
	}
	return d
}

// StateChangeGate judges a change to a clinical room's state: a change that
// would undo one of its protections is refused. content is the event's
// content as sent (JSON decoded into maps, slices, strings, float64s).
func StateChangeGate(eventType string, content map[string]any, r Requirements) GateDecision {
	if eventType == "m.room.power_levels" {
		return botPowerGate(content, r)
	}
	for _, rule := range hardeningRules {
		if rule.eventType != eventType {
			continue
		}
		f := proposedFacts(eventType, content)
		if rule.ok(f, r) {
			return GateDecision{Allow: true, Rule: GateHardening}
		}
		return GateDecision{Rule: GateHardening, Reason: fmt.Sprintf(
			"This is a clinical room, so %s must stay %s (this change would make it %s). Clinical rooms keep their protections so that only checked members can read patient information. If the room should no longer be clinical, ask your IG team.",
			rule.what, rule.wantText, rule.current(f))}
	}
	return GateDecision{Allow: true, Rule: GateHardening}
}

// botPowerGate: the bot keeps top power in a clinical room, or nothing
// stops the next change from undoing the protections.
func botPowerGate(content map[string]any, r Requirements) GateDecision {
	level := numberOr(ContentField(content, "users_default"), 0)
	if users, ok := ContentField(content, "users").(map[string]any); ok {
		if v, ok := users[r.BotUserID]; ok {
			level = numberOr(v, level)
		}
	}
	if level >= BotPowerLevel {
		return GateDecision{Allow: true, Rule: GateHardening}
	}
	return GateDecision{Rule: GateHardening, Reason: fmt.Sprintf(
		"This is a clinical room, so %s must keep power level %d (this change would leave it at %d): it is what keeps the room's protections in place. Change other people's power levels without lowering %s.",
		r.BotUserID, BotPowerLevel, level, r.BotUserID)}
}

// proposedFacts reads the one setting a state event carries into the
// room facts the hardening rules judge.
func proposedFacts(eventType string, content map[string]any) RoomFacts {
	var f RoomFacts
	str := func(key string) string { return ContentString(content, key) }
	switch eventType {
	case "m.room.join_rules":
		f.JoinRule = orWord(str("join_rule"), "missing")
	case "m.room.guest_access":
		f.GuestAccess = orWord(str("guest_access"), "missing")
	case "m.room.history_visibility":
		f.HistoryVisibility = str("history_visibility")
	case "m.room.encryption":
		f.EncryptionAlgorithm = str("algorithm")
	case "m.room.server_acl":
		acl := ServerACL{Allow: stringList(content["allow"]), Deny: stringList(content["deny"])}
		acl.AllowIPLiterals, _ = content["allow_ip_literals"].(bool)
		f.ServerACL = &acl
	}
	return f
}

// NewRoomRequest is what a createRoom request asks for, as the rules need it.
type NewRoomRequest struct {
	// Preset is private_chat, trusted_private_chat, public_chat or "".
	Preset string
	// Visibility is public (listed in the room directory) or private.
	Visibility string
	// Invitees are who the room invites, each with what is known of them.
	Invitees     []InviteeFacts
	InitialState []StateEvent
}

// Class is the class the new room's initial state gives it, read as the
// appservice reads a stored policy (any case, spaces trimmed). Dendrite
// keeps the last of several policy events; a request that names clinical
// in any of them is judged clinical, so a decoy "social" first cannot
// carry an unprotected clinical room past the gate (found in review).
func (n NewRoomRequest) Class() Class {
	class := Unclassified
	for _, ev := range n.InitialState {
		if ev.Type != PolicyEventType || ev.StateKey != "" {
			continue
		}
		c, _ := ParseClass(ContentString(ev.Content, "class"))
		if c == Clinical {
			return Clinical
		}
		class = c
	}
	return class
}

// NewRoomGate judges a new room before it exists: a room whose initial
// state makes it clinical must start protected — not listed publicly, not
// open to anyone, encrypted, with no setting that undoes a protection, and
// nobody invited who could not be in a clinical room. Other rooms pass.
// Settings a preset leaves (guest access, history) and the bot's power are
// set by the appservice once the room exists.
func NewRoomGate(n NewRoomRequest, g GateRules) GateDecision {
	if n.Class() != Clinical {
		return GateDecision{Allow: true, Rule: GateNotClinical}
	}
	if n.Visibility == "public" {
		return GateDecision{Rule: GatePublicRoom, Reason: "A clinical room cannot be listed in the public room directory: patient information is shared there. Create it as a private room."}
	}
	state := map[string]map[string]any{}
	for _, ev := range n.InitialState {
		if ev.StateKey == "" {
			state[ev.Type] = ev.Content
		}
	}
	if _, set := state["m.room.join_rules"]; !set && n.Preset == "public_chat" {
		state["m.room.join_rules"] = map[string]any{"join_rule": "public"}
	}
	if _, set := state["m.room.encryption"]; !set {
		state["m.room.encryption"] = map[string]any{}
	}
	for _, rule := range hardeningRules {
		if content, ok := state[rule.eventType]; ok {
			if d := StateChangeGate(rule.eventType, content, g.Requirements); !d.Allow {
				return d
			}
		}
	}
	for _, invitee := range n.Invitees {
		if d := InviteGate(invitee, g); !d.Allow {
			return d
		}
	}
	return GateDecision{Allow: true, Rule: GateHardening}
}

// numberOr reads a JSON number (a float64, or an integer from code that
// built the map itself), else def.
func numberOr(v any, def int64) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return def
}

// strings_ reads a JSON array of strings; anything else in it is dropped.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
