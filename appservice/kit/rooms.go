package kit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
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

// RoomArg reads a room from a command argument: a room ID, or an alias it
// resolves. It returns what to tell the person when the argument is not a
// room, and an error only when the homeserver could not be asked (the
// command is then retried). example shows the command written well.
func (k *Kit) RoomArg(ctx context.Context, arg, example string) (id.RoomID, string, error) {
	switch {
	case strings.HasPrefix(arg, "!") && strings.Contains(arg, ":"):
		return id.RoomID(arg), "", nil
	case strings.HasPrefix(arg, "#") && strings.Contains(arg, ":"):
		resp, err := k.Bot.ResolveAlias(ctx, id.RoomAlias(arg))
		if err != nil {
			if retry.IsTransient(err) {
				return "", "", err
			}
			return "", fmt.Sprintf("I cannot find a room called %s. Check the address.", arg), nil
		}
		return resp.RoomID, "", nil
	}
	return "", fmt.Sprintf("%q is not a room address. Write it as #alias:server or !id:server, e.g. `%s`.", arg, example), nil
}
