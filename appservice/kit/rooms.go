package kit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/policy"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// JoinBotRoom joins a room the bot needs, through the executor.
func (k *Kit) JoinBotRoom(ctx context.Context, target, why string) (id.RoomID, error) {
	res, err := k.Exec.Execute(ctx, "", k.BotID.String(), policy.JoinBotRoom(target, why))
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

// CreateBotRoom creates a room the bot needs, through the executor.
func (k *Kit) CreateBotRoom(ctx context.Context, plan policy.NewRoomPlan, why string) (id.RoomID, error) {
	res, err := k.Exec.Execute(ctx, "", k.BotID.String(), policy.CreatePlannedRoom(plan, policy.RuleBotRooms, why))
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

// JoinOrCreate joins the room an alias names, or, if there is none and the
// alias is on our own server, has create make it under that alias.
func (k *Kit) JoinOrCreate(ctx context.Context, alias id.RoomAlias, create func(ctx context.Context, localpart string) (id.RoomID, error)) (id.RoomID, error) {
	resolved, err := k.Bot.ResolveAlias(ctx, alias)
	if err == nil {
		if _, err := k.JoinBotRoom(ctx, resolved.RoomID.String(), "the room "+alias.String()); err != nil {
			return "", fmt.Errorf("join %s (invite %s to it first): %w", alias, k.BotID, err)
		}
		return resolved.RoomID, nil
	}
	if !errors.Is(err, mautrix.MNotFound) {
		return "", fmt.Errorf("resolve %s: %w", alias, err)
	}
	localpart, server, _ := strings.Cut(strings.TrimPrefix(alias.String(), "#"), ":")
	if server != k.Cfg.Homeserver.Domain {
		return "", fmt.Errorf("%s does not exist and is not on %s, so I cannot create it", alias, k.Cfg.Homeserver.Domain)
	}
	return create(ctx, localpart)
}
