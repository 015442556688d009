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
		return powerLevelsGate(content, r, true)
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
	// PowerLevelOverride is power_level_content_override as sent (nil
	// when absent): Dendrite lays it over its default power levels, unless
	// initial_state holds power levels, which replace both.
	PowerLevelOverride map[string]any
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
// open to anyone, encrypted, with no setting that undoes a protection
// (whether initial_state or the preset sets it), power levels that keep
// the hardening in the bot's hands, and nobody invited who could not be in
// a clinical room. Other rooms pass. The history a preset leaves (shared,
// in every preset) and the bot's own power are set by the appservice once
// the room exists.
func NewRoomGate(n NewRoomRequest, g GateRules) GateDecision {
	if n.Class() != Clinical {
		return GateDecision{Allow: true, Rule: GateNotClinical}
	}
	if n.Visibility == "public" {
		return GateDecision{Rule: GatePublicRoom, Reason: "A clinical room cannot be listed in the public room directory: patient information is shared there. Create it as a private room."}
	}
	if d := newRoomState(n, g.Requirements); !d.Allow {
		return d
	}
	for _, invitee := range n.Invitees {
		if d := InviteGate(invitee, g); !d.Allow {
			return d
		}
	}
	return GateDecision{Allow: true, Rule: GateHardening}
}

// newRoomState judges the state a new clinical room starts with: the
// preset's, overridden by initial_state (as Dendrite builds it), and its
// power levels (initial_state's, else the override's; both are judged).
func newRoomState(n NewRoomRequest, r Requirements) GateDecision {
	state := presetState(n.Preset)
	for _, ev := range n.InitialState {
		if ev.StateKey == "" {
			state[ev.Type] = ev.Content
		}
	}
	if _, set := state["m.room.encryption"]; !set {
		state["m.room.encryption"] = map[string]any{}
	}
	preset := presetState(n.Preset)
	for _, rule := range hardeningRules {
		content, ok := state[rule.eventType]
		if !ok {
			continue
		}
		d := StateChangeGate(rule.eventType, content, r)
		if _, fromPreset := preset[rule.eventType]; !d.Allow && fromPreset && sameContent(content, preset[rule.eventType]) {
			key := firstKey(rule.want(r))
			d.Reason = fmt.Sprintf("A clinical room must start with %s %s, and the %s preset makes it %s: add an %s event with %s %q to initial_state, or choose another preset.",
				rule.what, rule.wantText, n.Preset, rule.current(proposedFacts(rule.eventType, content)), rule.eventType, key, fmt.Sprint(rule.want(r)[key]))
		}
		if !d.Allow {
			return d
		}
	}
	for _, pl := range []map[string]any{state["m.room.power_levels"], n.PowerLevelOverride} {
		if pl == nil {
			continue
		}
		if d := powerLevelsGate(pl, r, false); !d.Allow {
			return d
		}
	}
	return GateDecision{Allow: true, Rule: GateHardening}
}

// presetState is the state Dendrite (v0.15.2, roomserver/internal/perform/
// perform_create_room.go) gives a new room by its preset, before
// initial_state overrides it: public_chat opens the join rule;
// private_chat and trusted_private_chat let guests join. (Each also sets
// history to shared; left to the appservice, see NewRoomGate.)
func presetState(preset string) map[string]map[string]any {
	switch preset {
	case "public_chat":
		return map[string]map[string]any{"m.room.join_rules": {"join_rule": "public"}}
	case "private_chat", "trusted_private_chat":
		return map[string]map[string]any{"m.room.guest_access": {"guest_access": "can_join"}}
	}
	return map[string]map[string]any{}
}

func sameContent(a, b map[string]any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// firstKey is the one key of a hardening rule's wanted content.
func firstKey(m map[string]any) string {
	for k := range m {
		return k
	}
	return ""
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
