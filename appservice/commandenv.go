package appservice

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/policy"
)

// commandContext is one command being handled (see package commands).
type commandContext = commands.Call

// commandEnv gives the command registry what it needs of the service.
type commandEnv struct{ s *Service }

func (e commandEnv) Reply(ctx context.Context, evt *event.Event, text string) error {
	return e.s.Reply(ctx, evt, text)
}

func (e commandEnv) Audit(ctx context.Context, actor string, roomID id.RoomID, action, reason string, detail map[string]any) error {
	return e.s.Audit(ctx, actor, roomID, action, reason, detail)
}

func (e commandEnv) LoadFacts(ctx context.Context, roomID id.RoomID) (policy.RoomFacts, error) {
	return e.s.Facts.Room(ctx, roomID)
}

func (e commandEnv) IsManagementOrDM(ctx context.Context, roomID id.RoomID) (bool, error) {
	return e.s.isManagementOrDM(ctx, roomID)
}

func (e commandEnv) ManagementRoom() id.RoomID     { return e.s.ManagementRoom() }
func (e commandEnv) IsIGAdmin(user id.UserID) bool { return e.s.IsIGAdmin(user) }
func (e commandEnv) OwnServer() string             { return e.s.Cfg.Homeserver.Domain }

func (e commandEnv) People(ctx context.Context, roomID id.RoomID) ([]string, error) {
	members, err := e.s.Facts.Members(ctx, roomID)
	if err != nil {
		return nil, err
	}
	return e.s.People(members), nil
}

// isManagementOrDM: the management room, or a room of just the bot and one person.
func (s *Service) isManagementOrDM(ctx context.Context, roomID id.RoomID) (bool, error) {
	if mgmt := s.ManagementRoom(); mgmt != "" && mgmt == roomID {
		return true, nil
	}
	members, err := s.Bot.JoinedMembers(ctx, roomID)
	if err != nil {
		return false, fmt.Errorf("list members of %s: %w", roomID, err)
	}
	return len(members.Joined) == 2, nil
}
