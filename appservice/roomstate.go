package appservice

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// loadFacts reads a room's current state from the homeserver and turns it
// into the plain facts the rules take. Reading the whole state each time
// means the rules always judge the room as it is, not as a cache remembers it.
func (s *Service) loadFacts(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, error) {
	state, err := s.bot.State(ctx, roomID)
	if err != nil {
		return policy.RoomFacts{}, fmt.Errorf("read state of %s: %w", roomID, err)
	}
	return factsFromState(roomID, state)
}

// stateRaw returns the raw content of a state event, or nil when absent.
func stateRaw(state map[event.Type]map[string]*event.Event, t event.Type) json.RawMessage {
	evts, ok := state[t]
	if !ok {
		return nil
	}
	evt, ok := evts[""]
	if !ok || evt == nil {
		return nil
	}
	return evt.Content.VeryRaw
}

func stateString(state map[event.Type]map[string]*event.Event, t event.Type, key string) string {
	raw := stateRaw(state, t)
	if raw == nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	v, _ := m[key].(string)
	return v
}

var (
	typePolicy    = event.Type{Type: policy.PolicyEventType, Class: event.StateEventType}
	typeServerACL = event.Type{Type: "m.room.server_acl", Class: event.StateEventType}
)

func factsFromState(roomID id.RoomID, state map[event.Type]map[string]*event.Event) (policy.RoomFacts, error) {
	f := policy.RoomFacts{
		RoomID:              roomID.String(),
		JoinRule:            stateString(state, event.StateJoinRules, "join_rule"),
		GuestAccess:         stateString(state, event.StateGuestAccess, "guest_access"),
		HistoryVisibility:   stateString(state, event.StateHistoryVisibility, "history_visibility"),
		EncryptionAlgorithm: stateString(state, event.StateEncryption, "algorithm"),
	}
	if c, ok := policy.ParseClass(stateString(state, typePolicy, "class")); ok {
		f.Class = c
	}
	if raw := stateRaw(state, typeServerACL); raw != nil {
		var acl policy.ServerACL
		if err := json.Unmarshal(raw, &acl); err == nil {
			f.ServerACL = &acl
		} else {
			// An unreadable ACL protects nothing: treat it as missing.
			f.ServerACL = nil
		}
	}
	pl, err := powerLevels(state)
	if err != nil {
		return f, fmt.Errorf("power levels of %s: %w", roomID, err)
	}
	f.PowerLevels = pl
	return f, nil
}

// powerLevels parses m.room.power_levels with gomatrixserverlib, which knows
// each room version's rules and the spec's defaults, then copies the result
// into the rules' plain struct.
func powerLevels(state map[event.Type]map[string]*event.Event) (policy.PowerLevels, error) {
	version := gomatrixserverlib.RoomVersion(stateString(state, event.StateCreate, "room_version"))
	if version == "" {
		version = gomatrixserverlib.RoomVersionV1
	}
	verImpl, err := gomatrixserverlib.GetRoomVersion(version)
	if err != nil {
		return policy.PowerLevels{}, fmt.Errorf("room version %q: %w", version, err)
	}
	var c gomatrixserverlib.PowerLevelContent
	c.Defaults()
	if raw := stateRaw(state, event.StatePowerLevels); raw != nil {
		if err := verImpl.ParsePowerLevels(raw, &c); err != nil {
			return policy.PowerLevels{}, err
		}
	} else if creates, ok := state[event.StateCreate]; ok && creates[""] != nil {
		// No power levels event: the creator has full power (spec, auth rules).
		c.Users = map[string]int64{creates[""].Sender.String(): 100}
	}
	return policy.PowerLevels{
		Users: c.Users, UsersDefault: c.UsersDefault,
		Events: c.Events, EventsDefault: c.EventsDefault, StateDefault: c.StateDefault,
		Invite: c.Invite, Kick: c.Kick, Ban: c.Ban, Redact: c.Redact,
	}, nil
}
