package gatekeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/caldicott/caldicott/policy"
)

// judgeClinicalVersion: a policy edit that makes (or keeps) a room
// clinical is refused in a room whose version the bot cannot guard, or
// whose creation names additional creators (policy.ClinicalVersionGate):
// their creators outrank the bot. The bot's own edits pass (the
// appservice judges its classifications itself).
func (g *Gatekeeper) judgeClinicalVersion(r *http.Request, roomID string, content map[string]any) *Refusal {
	raw, _ := content["class"].(string)
	if to, _ := policy.ParseClass(raw); to != policy.Clinical || g.asBot(r) {
		return nil
	}
	err := g.identities.Check(r.Context(), userAuth(r))
	if errors.Is(err, errNoCredentials) {
		return nil // Dendrite refuses it
	}
	if f := rateLimited(err); f != nil {
		return f
	}
	var create createContent
	if err == nil {
		create, err = g.classes.creation(r.Context(), roomID, userAuth(r), r.URL.Query().Get("user_id"))
	}
	if err != nil {
		g.metrics.RoomStateFailure.Inc()
		g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's version; refusing to make it clinical")
		return roomStateUnknown()
	}
	if d := policy.ClinicalVersionGate(policy.Clinical, create.RoomVersion, policy.NamesAdditionalCreators(create.Rest)); !d.Allow {
		return forbidden(d.Rule, d.Reason)
	}
	return nil
}

// createContent is a room's m.room.create content: its version ("" for
// version 1) and the rest, for additional_creators in any case of the key.
type createContent struct {
	RoomVersion string
	Rest        map[string]any
}

// creation reads the room's m.room.create as the editing client (who is
// in the room, to edit its state), asUser for an appservice's user.
func (c *roomClasses) creation(ctx context.Context, roomID, auth, asUser string) (createContent, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := strings.TrimSuffix(c.base.String(), "/") + "/_matrix/client/v3/rooms/" + url.PathEscape(roomID) + "/state/m.room.create"
	if asUser != "" {
		u += "?" + url.Values{"user_id": {asUser}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return createContent{}, fmt.Errorf("read creation of %s: %w", roomID, err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.client.Do(req)
	if err != nil {
		return createContent{}, fmt.Errorf("read creation of %s: %w", roomID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return createContent{}, fmt.Errorf("read creation of %s: homeserver answered %d", roomID, resp.StatusCode)
	}
	var content map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&content); err != nil {
		return createContent{}, fmt.Errorf("read creation of %s: %w", roomID, err)
	}
	v, _ := content["room_version"].(string)
	return createContent{RoomVersion: v, Rest: content}, nil
}
