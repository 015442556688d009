// Package guard keeps patient identifiers where they belong: an NHS number
// in a social or operational room's message is deleted and its sender told
// privately; one in any room's name or topic — shown in invitations and
// room lists — is taken out and the room told. Messages are read as they
// arrive (decrypted by the bot's own device in encrypted rooms), scanned
// and forgotten: neither the text nor the number is stored or logged.
package guard

import (
	"context"
	"errors"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/nhsnumber"
	"github.com/caldicott/caldicott/policy"
)

// Guard is the capability.
type Guard struct {
	*kit.Kit
}

// New builds the capability.
func New(k *kit.Kit) *Guard { return &Guard{Kit: k} }

// CheckMessage deletes a message holding an NHS number from a social or
// operational room and tells its sender why. It reports whether it did.
func (g *Guard) CheckMessage(ctx context.Context, evt *event.Event, body string) (bool, error) {
	if evt.Sender == g.BotID || !nhsnumber.Contains(body) {
		return false, nil
	}
	f, err := g.Facts.Room(ctx, evt.RoomID)
	if errors.Is(err, mautrix.MForbidden) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	d := policy.PatientIDInMessage(f.Class, evt.Sender.String(), evt.ID.String(), policy.RoomRef(f.RoomID, f.Alias))
	if len(d.Actions) == 0 {
		return false, nil
	}
	if _, err := g.Exec.Execute(ctx, evt.RoomID, g.BotID.String(), d); err != nil {
		return false, err
	}
	return true, nil
}

// roomTexts are the state events whose text is shown outside the room.
var roomTexts = map[string]struct{ field, key string }{
	event.StateRoomName.Type: {"name", "name"},
	event.StateTopic.Type:    {"topic", "topic"},
}

// IsRoomText reports whether a state event type is a room's name or topic.
func IsRoomText(t event.Type) bool { _, ok := roomTexts[t.Type]; return ok }

// CheckRoomText takes an NHS number out of a room's name or topic, in any
// room, and tells the room.
func (g *Guard) CheckRoomText(ctx context.Context, evt *event.Event) error {
	rt, ok := roomTexts[evt.Type.Type]
	if !ok || evt.GetStateKey() != "" {
		return nil
	}
	text, _ := evt.Content.Raw[rt.key].(string)
	cleaned := nhsnumber.Redact(text, "[NHS number removed]")
	if cleaned == text {
		return nil
	}
	_, err := g.Exec.Execute(ctx, evt.RoomID, g.BotID.String(), policy.PatientIDInRoomText(rt.field, evt.Type.Type, rt.key, cleaned))
	return err
}
