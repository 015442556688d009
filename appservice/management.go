package appservice

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// ensureManagementRoom resolves the configured management room and joins it.
// An alias on our own server that does not exist yet is created, with the
// IG admins invited, so a new installation needs no manual room set-up.
func (s *Service) ensureManagementRoom(ctx context.Context) (id.RoomID, error) {
	ref := s.cfg.Trust.ManagementRoom
	if strings.HasPrefix(ref, "!") {
		if _, err := s.bot.JoinRoomByID(ctx, id.RoomID(ref)); err != nil {
			return "", fmt.Errorf("join %s (invite %s to it first): %w", ref, s.botID, err)
		}
		return id.RoomID(ref), nil
	}
	return s.joinOrCreate(ctx, id.RoomAlias(ref), s.createManagementRoom)
}

// joinOrCreate joins the room an alias names, or, if there is none and the
// alias is on our own server, has create make it under that alias.
func (s *Service) joinOrCreate(ctx context.Context, alias id.RoomAlias, create func(ctx context.Context, localpart string) (id.RoomID, error)) (id.RoomID, error) {
	resolved, err := s.bot.ResolveAlias(ctx, alias)
	if err == nil {
		if _, err := s.bot.JoinRoom(ctx, resolved.RoomID.String(), nil); err != nil {
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
	req := &mautrix.ReqCreateRoom{
		RoomAliasName: localpart,
		Name:          "Caldicott management — " + s.cfg.Trust.Name,
		Topic:         "Trust-wide notices from Caldicott and commands for IG admins. Type !policy help.",
		Preset:        "private_chat",
	}
	for _, admin := range s.cfg.Trust.IGAdmins {
		req.Invite = append(req.Invite, id.UserID(admin))
	}
	resp, err := s.bot.CreateRoom(ctx, req)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", ref, err)
	}
	if err := s.audit(ctx, s.botID.String(), resp.RoomID, "create_management_room", "configured management room "+ref+" did not exist", nil); err != nil {
		return "", err
	}
	return resp.RoomID, nil
}
