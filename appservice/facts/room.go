package facts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/matrix-org/gomatrixserverlib"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// stateEvent is the part of a state event the rules read. We decode the
// /state response ourselves so every content is an independent copy.
type stateEvent struct {
	Type     string          `json:"type"`
	StateKey *string         `json:"state_key"`
	Sender   string          `json:"sender"`
	Content  json.RawMessage `json:"content"`
}

// roomState maps event type to the content of its "" state key.
type roomState struct {
	content map[string]json.RawMessage
	sender  map[string]string
}

// Room reads a room's current state from the homeserver and turns it
// into the plain facts the rules take. Reading the whole state each time
// means the rules always judge the room as it is, not as a cache remembers it.
func (s *Reader) Room(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, error) {
	f, _, err := s.room(ctx, roomID)
	return f, err
}

// RoomAndMembers reads a room's state once and gives both its facts and
// its joined members (refreshing the member cache): the state holds every
// member event, so a reconciliation needs one read per room, not two.
func (s *Reader) RoomAndMembers(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, map[string]string, error) {
	f, names, err := s.room(ctx, roomID)
	if err != nil {
		return f, nil, err
	}
	return f, s.remember(roomID, names), nil
}

// room reads the state and splits it into the room's settings (state key
// "") and its joined members' display names.
func (s *Reader) room(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, map[string]string, error) {
	var events []stateEvent
	if err := s.State(ctx, roomID, &events); err != nil {
		return policy.RoomFacts{}, nil, err
	}
	st := roomState{content: map[string]json.RawMessage{}, sender: map[string]string{}}
	names := map[string]string{}
	for _, e := range events {
		switch {
		case e.StateKey == nil:
		case *e.StateKey == "":
			st.content[e.Type] = e.Content
			st.sender[e.Type] = e.Sender
		case e.Type == event.StateMember.Type:
			var m struct {
				Membership  event.Membership `json:"membership"`
				Displayname string           `json:"displayname"`
			}
			if json.Unmarshal(e.Content, &m) == nil && m.Membership == event.MembershipJoin {
				names[*e.StateKey] = m.Displayname
			}
		}
	}
	f, err := factsFromState(roomID, st, s.isBot)
	return f, names, err
}

// State decodes a room's whole current state (GET /state) into events.
func (s *Reader) State(ctx context.Context, roomID id.RoomID, events any) error {
	url := s.bot.BuildClientURL("v3", "rooms", roomID, "state")
	if _, err := s.bot.MakeRequest(ctx, http.MethodGet, url, nil, events); err != nil {
		return fmt.Errorf("read state of %s: %w", roomID, err)
	}
	return nil
}

func (st roomState) str(eventType, key string) string {
	raw, ok := st.content[eventType]
	if !ok {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	v, _ := m[key].(string)
	return v
}

// factsFromState reads a room's facts from its state; isBot says whether
// a user is a Caldicott bot (see Reader.SetBots).
func factsFromState(roomID id.RoomID, state roomState, isBot func(string) bool) (policy.RoomFacts, error) {
	f := policy.RoomFacts{
		RoomID:              roomID.String(),
		JoinRule:            state.str("m.room.join_rules", "join_rule"),
		GuestAccess:         state.str("m.room.guest_access", "guest_access"),
		HistoryVisibility:   state.str("m.room.history_visibility", "history_visibility"),
		EncryptionAlgorithm: state.str("m.room.encryption", "algorithm"),
		Alias:               state.str("m.room.canonical_alias", "alias"),
		Retention:           state.content[policy.RetentionEventType],
		// The create event's sender, which the homeserver signed for: the
		// `creator` field of versions before 11 is one a client may fill in
		// through creation_content, and it decides whose trust a room is.
		Creator: orString(state.sender["m.room.create"], state.str("m.room.create", "creator")),
	}
	if raw, ok := state.content[policy.PolicyEventType]; ok {
		var pc policy.PolicyContent
		if json.Unmarshal(raw, &pc) == nil {
			// An unknown class reads as none (ParseClass gives Unclassified).
			f.Class, _ = policy.ParseClass(string(pc.Class))
			pc.Class = f.Class
			pc.FiltersBy = filtersSetter(pc.FiltersBy, state.sender[policy.PolicyEventType], isBot)
			// Who classified is the store's record: a rewrite that changes
			// the class names its classifier; the event's claim, which
			// anyone with power over the policy may write, is not carried.
			pc.ClassifiedBy = ""
			f.Policy = pc
		}
	}
	if raw, ok := state.content["m.room.server_acl"]; ok {
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

// filtersSetter is who set a room's role and team filters, given the
// policy event's filters_set_by claim and its sender. A bot writes the event
// for whoever typed the command and names them — someone of its own trust:
// a bot naming someone of another trust (ours, say) is not believed, and
// the setter is unknown (""). Anyone else who writes it sets the filters
// themselves, whatever the content claims.
func filtersSetter(claim, sender string, isBot func(string) bool) string {
	if !isBot(sender) {
		return sender
	}
	if id.UserID(claim).Homeserver() == id.UserID(sender).Homeserver() {
		return claim
	}
	return ""
}

// powerLevels parses m.room.power_levels with gomatrixserverlib, which knows
// each room version's rules and the spec's defaults, then copies the result
// into the rules' plain struct.
func powerLevels(state roomState) (policy.PowerLevels, error) {
	version := gomatrixserverlib.RoomVersion(state.str("m.room.create", "room_version"))
	if version == "" {
		version = gomatrixserverlib.RoomVersionV1
	}
	verImpl, err := gomatrixserverlib.GetRoomVersion(version)
	if err != nil {
		return policy.PowerLevels{}, fmt.Errorf("room version %q: %w", version, err)
	}
	var c gomatrixserverlib.PowerLevelContent
	c.Defaults()
	if raw, ok := state.content["m.room.power_levels"]; ok {
		if err := verImpl.ParsePowerLevels(raw, &c); err != nil {
			return policy.PowerLevels{}, err
		}
	} else if creator, ok := state.sender["m.room.create"]; ok {
		// No power levels event: the creator has full power (spec, auth rules).
		c.Users = map[string]int64{creator: 100}
	}
	return policy.PowerLevels{
		Users: c.Users, UsersDefault: c.UsersDefault,
		Events: c.Events, EventsDefault: c.EventsDefault, StateDefault: c.StateDefault,
		Invite: c.Invite, Kick: c.Kick, Ban: c.Ban, Redact: c.Redact,
	}, nil
}

// PowerLevelsContent is the room's current m.room.power_levels, every
// field kept, for a decision that changes one user's level.
func (s *Reader) PowerLevelsContent(ctx context.Context, room id.RoomID) (map[string]any, error) {
	var content map[string]any
	if err := s.bot.StateEvent(ctx, room, event.StatePowerLevels, "", &content); err != nil {
		return nil, fmt.Errorf("read power levels of %s: %w", room, err)
	}
	return content, nil
}

func orString(v, alt string) string {
	if v != "" {
		return v
	}
	return alt
}
