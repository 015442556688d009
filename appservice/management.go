package appservice

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// ensureManagementRoom resolves the configured management room and joins it.
// An alias on our own server that does not exist yet is created, with the
// IG admins invited, so a new installation needs no manual room set-up.
func (s *Service) ensureManagementRoom(ctx context.Context) (id.RoomID, error) {
	ref := s.Cfg.Trust.ManagementRoom
	if strings.HasPrefix(ref, "!") {
		if _, err := s.JoinBotRoom(ctx, ref, "the configured management room"); err != nil {
			return "", fmt.Errorf("join %s (invite %s to it first): %w", ref, s.BotID, err)
		}
		return id.RoomID(ref), nil
	}
	return s.JoinOrCreate(ctx, id.RoomAlias(ref), s.createManagementRoom)
}

// createManagementRoom makes the management room, with the IG admins invited.
func (s *Service) createManagementRoom(ctx context.Context, localpart string) (id.RoomID, error) {
	ref := "#" + localpart + ":" + s.Cfg.Homeserver.Domain
	plan := policy.BotRoomPlan(localpart, "Caldicott management — "+s.Cfg.Trust.Name,
		"Trust-wide notices from Caldicott and commands for IG admins. Type !policy help.",
		"private_chat", s.Cfg.Trust.IGAdmins, false, nil, s.Requirements())
	room, err := s.CreateBotRoom(ctx, plan, "configured management room "+ref+" did not exist")
	if err != nil {
		return "", fmt.Errorf("create %s: %w", ref, err)
	}
	return room, nil
}
