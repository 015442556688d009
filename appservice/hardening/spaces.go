package hardening

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

var (
	TypeSpaceChild  = event.Type{Type: "m.space.child", Class: event.StateEventType}
	TypeSpaceParent = event.Type{Type: "m.space.parent", Class: event.StateEventType}
)

// HandleSpaceLink removes a link between a space and a room of classes that
// must not meet (policy.SpaceLinkProblem) and reports it. The link is
// undone where it was made: m.space.child lives in the space,
// m.space.parent in the room.
func (s *Hardening) HandleSpaceLink(ctx context.Context, evt *event.Event) error {
	if evt.Sender == s.BotID || len(evt.Content.Raw) == 0 {
		return nil // our own removal, or a link already removed
	}
	var spaceID, roomID id.RoomID
	if evt.Type == TypeSpaceChild {
		spaceID, roomID = evt.RoomID, id.RoomID(evt.GetStateKey())
	} else {
		spaceID, roomID = id.RoomID(evt.GetStateKey()), evt.RoomID
	}
	space, err := s.Facts.Room(ctx, spaceID)
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return nil // the bot is not in the space: it cannot judge
	}
	room, err := s.Facts.Room(ctx, roomID)
	if err != nil {
		if retry.IsTransient(err) {
			return err
		}
		return nil
	}
	problem := policy.SpaceLinkProblem(space.Class, room.Class)
	if problem == "" {
		return nil
	}
	where := evt.RoomID
	d := policy.SpaceLinkRemoval(evt.Sender.String(), spaceID.String(), roomID.String(), evt.Type.Type, evt.GetStateKey(), problem)
	if err := s.Audit(ctx, evt.Sender.String(), where, "space_link", problem, map[string]any{"space": spaceID.String(), "room": roomID.String()}); err != nil {
		return err
	}
	res, err := s.Exec.Execute(ctx, where, evt.Sender.String(), d)
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return s.NotifyManagement(ctx, policy.RuleSpaceLink, fmt.Sprintf("I could not remove a forbidden link between space %s and room %s (%s): %v", spaceID, roomID, problem, res.Failures))
	}
	return nil
}
