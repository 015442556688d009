package policy

import (
	"fmt"
	"strings"
)

// The federation's policy list speaks MSC2313: one state event per rule,
// at a state key of our choosing; an emptied event withdraws it.
const (
	TypeUserRule   = "m.policy.rule.user"
	TypeServerRule = "m.policy.rule.server"
	// RecommendBan is the spec's only standard recommendation.
	RecommendBan = "m.ban"
	// RecommendAllow is MSC4150's allow recommendation under the unstable
	// name the MSC asks implementations to use until it is merged (and that
	// Mjolnir, Draupnir and Meowlnir read).
	RecommendAllow = "org.matrix.mjolnir.allow"
	// RequestedByKey names, in a member-trust rule a bot publishes, the
	// federation admin who asked for it: the other trusts accept the rule
	// only if that person is one of the federation's admins.
	RequestedByKey = "org.caldicott.requested_by"
	// ProofKey names, in a member-trust rule a bot publishes, the event ID
	// of the admin's own `!policy trust` command in the list room. Every
	// trust's Caldicott fetches that event from its own homeserver (which
	// holds it only as the admin's homeserver signed it) and applies the
	// rule only if the admin asked for exactly that: a bot's word is never
	// enough.
	ProofKey = "org.caldicott.proof"
)

// ListRuleKey is where a rule about entity lives in the list room.
func ListRuleKey(entity string) string { return listRulePrefix + entity }

// ListRuleEntity reads the entity back from a rule's state key.
func ListRuleEntity(stateKey string) (string, bool) {
	return strings.CutPrefix(stateKey, listRulePrefix)
}

const listRulePrefix = "rule:"

// PublishStanding decides what this trust tells the federation about one
// of its own staff: a ban while they have left or are suspended, so every
// other trust removes them at once; withdrawn once they are active again,
// so they may be invited back. published says whether the list shows a
// ban from us now.
func PublishStanding(user string, status StaffStatus, known bool, trustName string, published bool) Decision {
	gone := known && (status == StatusLeft || status == StatusSuspended)
	switch {
	case gone && !published:
		reason := fmt.Sprintf("%s records them as %s", trustName, status)
		return Decision{Actions: []Action{{Kind: SetState, Rule: RuleFederationList, EventType: TypeUserRule, StateKey: ListRuleKey(user),
			Content: map[string]any{"entity": user, "recommendation": RecommendBan, "reason": reason},
			Text:    "tell the federation " + user + " may no longer be in clinical rooms", Reason: reason}}}
	case !gone && published:
		return Decision{Actions: []Action{{Kind: SetState, Rule: RuleFederationList, EventType: TypeUserRule, StateKey: ListRuleKey(user),
			Content: map[string]any{}, Text: "withdraw " + user + " from the federation's list", Reason: user + " is active again"}}}
	}
	return Decision{}
}

// PublishTrust decides a change to the federation's member trusts, asked
// for by one of its admins: an allow rule for the server, or its removal.
// proof is the event ID of the admin's command in the list room.
func PublishTrust(server string, add bool, by, proof string) Decision {
	if !add {
		return DenyTrust(server, by, proof)
	}
	return Decision{Actions: []Action{{Kind: SetState, Rule: RuleFederationList, EventType: TypeServerRule, StateKey: ListRuleKey(server),
		Content: map[string]any{"entity": server, "recommendation": RecommendAllow, "reason": "member trust, added by " + by, RequestedByKey: by, ProofKey: proof},
		Text:    "add " + server + " to the federation's trusts", Reason: "added by " + by}}}
}

// ListRoomPlan plans the federation's policy list room, made by the hosting
// trust's bot: every trust's bot (and the federation's admins) invited, at
// the power to publish rules (state events need 50); only the host's bot
// can change the room itself. History is shared, so a bot joining later
// reads every rule in force from the room's state.
func ListRoomPlan(localpart, federationName string, bots, admins []string, r Requirements) NewRoomPlan {
	power := map[string]int64{r.BotUserID: BotPowerLevel}
	var invite []string
	for _, u := range append(append([]string{}, bots...), admins...) {
		if u == r.BotUserID {
			continue
		}
		power[u] = 50
		invite = append(invite, u)
	}
	return NewRoomPlan{
		Name: federationName + " policy list", Preset: "private_chat", AliasLocalpart: localpart, Invite: invite, PowerUsers: power,
		Topic:        "The federation's shared policy (MSC2313): leavers and suspended staff published by their own trust's Caldicott, and the member trusts. Read by every trust's Caldicott; rules from anyone else are refused.",
		InitialState: []StateEvent{{Type: "m.room.history_visibility", Content: map[string]any{"history_visibility": "shared"}}},
	}
}

// InviteToList invites a trust's bot (or an admin) the list room lacks.
func InviteToList(user string) Decision {
	return Decision{Actions: []Action{{Kind: Invite, Rule: RuleFederationList, UserID: user, Text: "invite " + user + " to the federation's list", Reason: "a member of the federation's list"}}}
}

// DenyTrust takes a server out of the federation: a ban rule at its key
// (replacing any allow rule). A trust that has the server in its own
// config keeps it until it changes its config: the list alone never
// removes a trust another trust chose.
func DenyTrust(server, by, proof string) Decision {
	return Decision{Actions: []Action{{Kind: SetState, Rule: RuleFederationList, EventType: TypeServerRule, StateKey: ListRuleKey(server),
		Content: map[string]any{"entity": server, "recommendation": RecommendBan, "reason": "no longer a member trust, removed by " + by, RequestedByKey: by, ProofKey: proof},
		Text:    "remove " + server + " from the federation's trusts", Reason: "removed by " + by}}}
}

// RestoreRule writes back one of our own rules that someone overwrote in
// the list room (a refused event at its key): the room's state is what a
// trust reading the list afresh sees, so it must show the rule again.
// content is the rule's event content as we published it (a member-trust
// rule keeps its proof), or nil to write entity, recommendation and reason.
func RestoreRule(eventType, stateKey, entity, recommendation, reason string, content map[string]any) Decision {
	if content == nil {
		content = map[string]any{"entity": entity, "recommendation": recommendation, "reason": reason}
	}
	return Decision{Actions: []Action{{Kind: SetState, Rule: RuleFederationList, EventType: eventType, StateKey: stateKey,
		Content: content,
		Text:    "restore our rule about " + entity + " on the federation's list", Reason: "our rule was overwritten by someone who may not change it"}}}
}
