package policy

import (
	"encoding/json"
	"fmt"
	"maps"
)

// Changes a person asks for that the bot carries out: a room's class and
// options, new rooms, the bot's own rooms.

// SetRoomPolicy records content as the room's org.caldicott.policy.
func SetRoomPolicy(content PolicyContent, rule, what, reason string) Decision {
	return Decision{Actions: []Action{{Kind: SetState, Rule: rule, EventType: PolicyEventType, Content: content.Map(), Text: what, Reason: reason}}}
}

// Map is the content as a state event body: its JSON encoding, so the
// struct's tags are the one list of the event's keys.
func (c PolicyContent) Map() map[string]any {
	raw, err := json.Marshal(c)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		// Strings and lists of strings always encode: a field that does
		// not is a bug, and a policy event written without it would lose it.
		panic(fmt.Sprintf("encode %s content: %v", PolicyEventType, err))
	}
	return m
}

// CreatePlannedRoom creates the room plan describes.
func CreatePlannedRoom(plan NewRoomPlan, rule, reason string) Decision {
	p := plan
	p.PowerUsers = maps.Clone(plan.PowerUsers)
	return Decision{Actions: []Action{{Kind: CreateRoom, Rule: rule, Plan: &p, Text: "create room", Reason: reason}}}
}

// BotRoomPlan is a room only the bot writes to, for notices or published
// state (the management room is ordinary; the attestation room is BotOnly).
func BotRoomPlan(aliasLocalpart, name, topic, preset string, invite []string, botOnly bool, initial []StateEvent, r Requirements) NewRoomPlan {
	return NewRoomPlan{
		Name: name, Topic: topic, Preset: preset, AliasLocalpart: aliasLocalpart, Invite: invite,
		PowerUsers: map[string]int64{r.BotUserID: BotPowerLevel}, BotOnly: botOnly, InitialState: initial,
	}
}

// AnswerBotInvitation accepts an invitation to the bot from its own trust
// (or an IG admin) and declines one from anyone else.
func AnswerBotInvitation(inviter string, ownTrust bool, ownServer string) Decision {
	if !ownTrust {
		return Decision{Actions: []Action{{Kind: Leave, Rule: RuleBotInvitation, Text: "decline invitation",
			Reason: fmt.Sprintf("invited by %s, who is not a user of %s", inviter, ownServer)}}}
	}
	return Decision{Actions: []Action{{Kind: Join, Rule: RuleBotInvitation, Text: "accept invitation", Reason: "invited by " + inviter}}}
}

// AnswerSharedInvitation decides an invitation to the bot from a member of
// another trust of the federation (seen in the bot's sync): accepted, so
// every trust's bot is where its staff are; from anyone else, declined.
func AnswerSharedInvitation(inviter string, federated bool) Decision {
	if !federated {
		return Decision{Actions: []Action{{Kind: Leave, Rule: RuleBotInvitation, Text: "decline invitation",
			Reason: fmt.Sprintf("invited by %s, who belongs to no trust of the federation", inviter)}}}
	}
	return Decision{Actions: []Action{{Kind: Join, Rule: RuleBotInvitation, Text: "accept invitation", Reason: "invited by " + inviter + " of a federated trust"}}}
}

// LeaveUnsharedRoom leaves a room another trust's member invited the bot to
// that is not clinical: the bot guards its staff in clinical rooms only.
func LeaveUnsharedRoom(inviter string) Decision {
	return Decision{Actions: []Action{{Kind: Leave, Rule: RuleBotInvitation, Text: "leave a room that is not clinical",
		Reason: "invited by " + inviter + " of another trust to a room that is not clinical"}}}
}

// JoinBotRoom joins a room the bot needs (target: ID or alias).
func JoinBotRoom(target, reason string) Decision {
	return Decision{Actions: []Action{{Kind: Join, Rule: RuleBotRooms, Target: target, Text: "join " + target, Reason: reason}}}
}

// PublishState sets one state event of the bot's own rooms (attestations).
func PublishState(rule, eventType, stateKey string, content map[string]any, what, reason string) Decision {
	return Decision{Actions: []Action{{Kind: SetState, Rule: rule, EventType: eventType, StateKey: stateKey, Content: content, Text: what, Reason: reason}}}
}

// SignOutEverywhere ends every session of user (a lost device).
func SignOutEverywhere(user, by string) Decision {
	return Decision{Actions: []Action{{Kind: SignOutDevices, Rule: RuleLostDevice, UserID: user, Text: "sign out every device of " + user, Reason: "lost device reported by " + by}}}
}
