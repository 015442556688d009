package policy

import "maps"

// StateEvent is an initial state event for room creation.
type StateEvent struct {
	Type     string
	StateKey string
	Content  map[string]any
}

// NewRoomPlan is how to create a room already classified and hardened.
type NewRoomPlan struct {
	Name   string
	Preset string
	// Invite lists who to invite: the requester.
	Invite       []string
	InitialState []StateEvent
	// PowerUsers overrides the created room's user power levels: the bot
	// (its creator) and the requester at 100.
	PowerUsers map[string]int64
	// AliasLocalpart, when set, gives the room the alias #<it>:<own server>.
	AliasLocalpart string
	Topic          string
	// BotOnly makes every event and state change need power 100: rooms
	// where only the bot writes (the attestation room).
	BotOnly bool
	// Direct marks a direct chat with the one invitee.
	Direct bool
}

// PlanNewRoom plans a new room of class c for requester. Creating the room
// with the protections already in its initial state means nobody has to hand
// the bot power afterwards, and the room is never unprotected for a moment.
func PlanNewRoom(c Class, name, requester string, r Requirements) NewRoomPlan {
	p := NewRoomPlan{
		Name:         name,
		Preset:       "private_chat",
		Invite:       []string{requester},
		PowerUsers:   map[string]int64{r.BotUserID: BotPowerLevel, requester: BotPowerLevel},
		InitialState: []StateEvent{{Type: PolicyEventType, Content: PolicyContent{Class: c, ClassifiedBy: requester}.Map()}},
	}
	if c != Clinical {
		return p
	}
	for _, rule := range hardeningRules {
		p.InitialState = append(p.InitialState, StateEvent{Type: rule.eventType, Content: maps.Clone(rule.want(r))})
	}
	return p
}

// DirectChatPlan is a direct chat between the bot and user, where the bot
// tells them what concerns them alone.
func DirectChatPlan(user string) NewRoomPlan {
	return NewRoomPlan{Preset: "trusted_private_chat", Invite: []string{user}, Direct: true}
}
