package appservice

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// ensureManagementRoom resolves the configured management room and joins it.
// An alias on our own server that does not exist yet is created, with the
// IG admins invited, so a new installation needs no manual room set-up.
func (s *Service) ensureManagementRoom(ctx context.Context) (id.RoomID, error) {
	ref := s.cfg.Trust.ManagementRoom
	if strings.HasPrefix(ref, "!") {
		if _, err := s.joinBotRoom(ctx, ref, "the configured management room"); err != nil {
			return "", fmt.Errorf("join %s (invite %s to it first): %w", ref, s.botID, err)
		}
		return id.RoomID(ref), nil
	}
	return s.joinOrCreate(ctx, id.RoomAlias(ref), s.createManagementRoom)
}

// joinBotRoom joins a room the bot needs, through the executor.
func (s *Service) joinBotRoom(ctx context.Context, target, why string) (id.RoomID, error) {
	res, err := s.exec.Execute(ctx, "", s.botID.String(), policy.JoinBotRoom(target, why))
	if err != nil {
		return "", err
	}
	if len(res.Failures) > 0 {
		return "", errors.New(strings.Join(res.Failures, " "))
	}
	if res.Room == "" && res.DryRun {
		return "", errors.New("dry run: not joined")
	}
	return res.Room, nil
}

// createBotRoom creates a room the bot needs, through the executor.
func (s *Service) createBotRoom(ctx context.Context, plan policy.NewRoomPlan, why string) (id.RoomID, error) {
	res, err := s.exec.Execute(ctx, "", s.botID.String(), policy.CreatePlannedRoom(plan, policy.RuleBotRooms, why))
	if err != nil {
		return "", err
	}
	if len(res.Failures) > 0 {
		return "", errors.New(strings.Join(res.Failures, " "))
	}
	if res.Room == "" {
		return "", errors.New("dry run: not created")
	}
	return res.Room, nil
}

// joinOrCreate joins the room an alias names, or, if there is none and the
// alias is on our own server, has create make it under that alias.
func (s *Service) joinOrCreate(ctx context.Context, alias id.RoomAlias, create func(ctx context.Context, localpart string) (id.RoomID, error)) (id.RoomID, error) {
	resolved, err := s.bot.ResolveAlias(ctx, alias)
	if err == nil {
		if _, err := s.joinBotRoom(ctx, resolved.RoomID.String(), "the room "+alias.String()); err != nil {
			return "", fmt.Errorf("join %s (invite %s to it first): %w", alias, s.botID, err)
		}
		return resolved.RoomID, nil
	}
	if !errors.Is(err, mautrix.MNotFound) {
		return "", fmt.Errorf("resolve %s: %w", alias, err)
	}
	localpart, server, _ := strings.Cut(strings.TrimPrefix(alias.String(), "#"), ":")
	if server != s.cfg.Homeserver.Domain {
		return "", fmt.Errorf("%s does not exist and is not on %s, so I cannot create it", alias, s.cfg.Homeserver.Domain)
	}
	return create(ctx, localpart)
}

// createManagementRoom makes the management room, with the IG admins invited.
func (s *Service) createManagementRoom(ctx context.Context, localpart string) (id.RoomID, error) {
	ref := "#" + localpart + ":" + s.cfg.Homeserver.Domain
	plan := policy.BotRoomPlan(localpart, "Caldicott management — "+s.cfg.Trust.Name,
		"Trust-wide notices from Caldicott and commands for IG admins. Type !policy help.",
		"private_chat", s.cfg.Trust.IGAdmins, false, nil, s.req)
	room, err := s.createBotRoom(ctx, plan, "configured management room "+ref+" did not exist")
	if err != nil {
		return "", fmt.Errorf("create %s: %w", ref, err)
	}
	return room, nil
}
