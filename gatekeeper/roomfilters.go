package gatekeeper

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/matrix-org/gomatrixserverlib"

	"github.com/caldicott/caldicott/policy"
)

// maxRoomStateBytes bounds a read of a room's whole state (every member
// event is in it).
const maxRoomStateBytes = 32 << 20

// stateEvent is the part of a state event the filters' reach needs.
type stateEvent struct {
	Type     string          `json:"type"`
	StateKey *string         `json:"state_key"`
	Sender   string          `json:"sender"`
	Content  json.RawMessage `json:"content"`
}

// roomSettings are a room's state events of state key "", by type.
type roomSettings map[string]stateEvent

// settings reads a room's whole state as the bot: only when a decision
// needs more than the class (someone outside the room's role or team
// filters, whose power in the room may put them out of the filters'
// reach; who created the room).
func (c *roomClasses) settings(ctx context.Context, roomID string) (roomSettings, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := strings.TrimSuffix(c.base.String(), "/") + "/_matrix/client/v3/rooms/" + url.PathEscape(roomID) + "/state?" + url.Values{"user_id": {c.bot}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", roomID, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.asToken)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", roomID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read state of %s: homeserver answered %d", roomID, resp.StatusCode)
	}
	var events []stateEvent
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRoomStateBytes)).Decode(&events); err != nil {
		return nil, fmt.Errorf("read state of %s: %w", roomID, err)
	}
	out := roomSettings{}
	for _, e := range events {
		if e.StateKey != nil && *e.StateKey == "" {
			out[e.Type] = e
		}
	}
	return out, nil
}

func (s roomSettings) str(eventType, key string) string {
	var m map[string]any
	if json.Unmarshal(s[eventType].Content, &m) != nil {
		return ""
	}
	v, _ := m[key].(string)
	return v
}

// creator is who created the room, as the appservice reads it: the create
// event's sender (signed by the homeserver), else its creator field.
func (s roomSettings) creator() string {
	if c := s["m.room.create"].Sender; c != "" {
		return c
	}
	return s.str("m.room.create", "creator")
}

// powerLevels reads m.room.power_levels with each room version's rules and
// the spec's defaults (gomatrixserverlib), as the appservice reads it.
func (s roomSettings) powerLevels() (policy.PowerLevels, error) {
	version := gomatrixserverlib.RoomVersion(s.str("m.room.create", "room_version"))
	if version == "" {
		version = gomatrixserverlib.RoomVersionV1
	}
	verImpl, err := gomatrixserverlib.GetRoomVersion(version)
	if err != nil {
		return policy.PowerLevels{}, fmt.Errorf("room version %q: %w", version, err)
	}
	var c gomatrixserverlib.PowerLevelContent
	c.Defaults()
	if pl, ok := s["m.room.power_levels"]; ok {
		if err := verImpl.ParsePowerLevels(pl.Content, &c); err != nil {
			return policy.PowerLevels{}, err
		}
	} else if creator := s["m.room.create"].Sender; creator != "" {
		c.Users = map[string]int64{creator: 100}
	}
	return policy.PowerLevels{
		Users: c.Users, UsersDefault: c.UsersDefault,
		Events: c.Events, EventsDefault: c.EventsDefault, StateDefault: c.StateDefault,
		Invite: c.Invite, Kick: c.Kick, Ban: c.Ban, Redact: c.Redact,
	}, nil
}

// outranksFilters says whether user is out of the reach of the room's role
// and team filters (policy.RoomFacts.FilterReach): the appservice leaves
// such a person in the room whatever the filters say. Who set the filters
// depends on whether the policy event's sender is a Caldicott bot; the
// gatekeeper knows only its own, so when another sent it, both readings
// are taken and the lower reach counts: nobody the appservice would keep
// is refused.
func (g *Gatekeeper) outranksFilters(ctx context.Context, roomID, user string) (bool, error) {
	s, err := g.classes.settings(ctx, roomID)
	if err != nil {
		return false, err
	}
	pl, err := s.powerLevels()
	if err != nil {
		return false, fmt.Errorf("power levels of %s: %w", roomID, err)
	}
	f := policy.RoomFacts{RoomID: roomID, PowerLevels: pl, Creator: s.creator()}
	sender := s[policy.PolicyEventType].Sender
	claim := s.str(policy.PolicyEventType, "filters_set_by")
	// As the bot's: the claim, when it names someone of the bot's trust.
	asBot := ""
	if serverOf(claim) == serverOf(sender) {
		asBot = claim
	}
	setters := []string{asBot}
	if sender != g.s.Rules.BotUserID {
		setters = append(setters, sender)
	}
	reach := int64(-1 << 63)
	for i, setter := range setters {
		r := f.FilterReach(setter, slices.Contains(g.s.IGAdmins, setter), g.s.Rules.OwnServer)
		if i == 0 || r < reach {
			reach = r
		}
	}
	return pl.UserLevel(user) >= reach, nil
}
