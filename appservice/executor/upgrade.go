package executor

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

var typeTombstone = event.Type{Type: "m.room.tombstone", Class: event.StateEventType}

// upgradeRoom asks the homeserver to replace the room with a new one of
// the action's version (POST /rooms/{roomId}/upgrade), the bot its
// creator, and returns the new room. An upgrade is not idempotent: each
// one makes a room. So a resumed one first reads the room's tombstone,
// which the homeserver sends last: present, the upgrade was done (the
// result is the room it names) and is not asked again.
func (e *Executor) upgradeRoom(ctx context.Context, s actionStep) (id.RoomID, error) {
	if s.resumed {
		var t struct {
			ReplacementRoom id.RoomID `json:"replacement_room"`
		}
		err := e.bot.StateEvent(ctx, s.room, typeTombstone, "", &t)
		switch {
		case err == nil && t.ReplacementRoom != "":
			return t.ReplacementRoom, nil
		case err != nil && !errors.Is(err, mautrix.MNotFound):
			// Unknown whether it was done: never a second room on a guess.
			return "", fmt.Errorf("read tombstone of %s before upgrading: %w", s.room, err)
		}
	}
	var resp struct {
		ReplacementRoom id.RoomID `json:"replacement_room"`
	}
	url := e.bot.BuildClientURL("v3", "rooms", s.room, "upgrade")
	if _, err := e.bot.MakeRequest(ctx, http.MethodPost, url, map[string]string{"new_version": s.action.Version}, &resp); err != nil {
		return "", e.upgradeError(s.room, err)
	}
	if resp.ReplacementRoom == "" {
		return "", fmt.Errorf("upgrade %s: the homeserver named no replacement room", s.room)
	}
	return resp.ReplacementRoom, nil
}

// upgradeError: an upgrade the homeserver failed (a 5xx answer) is
// reported, not retried as other 5xx are: each try may leave another
// half-made room behind. No answer at all stays transient; the resumed
// try reads the tombstone before asking again.
func (e *Executor) upgradeError(room id.RoomID, err error) error {
	var httpErr mautrix.HTTPError
	if errors.As(err, &httpErr) && httpErr.Response != nil && httpErr.Response.StatusCode >= 500 && httpErr.Response.StatusCode != http.StatusServiceUnavailable {
		e.log.Warn().Err(err).Stringer("room_id", room).Msg("The homeserver failed a room upgrade; reported, not retried")
		return errUpgradeFailed
	}
	return fmt.Errorf("upgrade %s: %w", room, err)
}

// errUpgradeFailed is what people are told of an upgrade the homeserver failed.
var errUpgradeFailed = errors.New("the homeserver failed the upgrade; ask your IT team to look at its logs before trying again")
