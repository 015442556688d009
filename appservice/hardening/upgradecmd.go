package hardening

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/commands"
	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

var CommandUpgrade = commands.Def[*Hardening]{
	CommandSpec: policy.CommandSpec{
		Name: "upgrade", Usage: "!policy upgrade [room version]", MaxArgs: 1, Place: policy.InRoom,
		Needs:   policy.RoomUpgradePower,
		Summary: "Room admins: upgrade this room to a new room version, keeping its protections and members.",
	},
	Doc: "The bot upgrades the room itself (the homeserver's room upgrade), so it creates the replacement and guards " +
		"it from its first event: the class, room options, deletion period, legal hold, waiting patient records, " +
		"review schedule and requests move over as on any upgrade it follows, and the room's members are invited to " +
		"the new room. Without a version: the homeserver's default if newer than the room's, else the room's own " +
		"(up to version 11). Only someone with the power to send `m.room.tombstone` in the room may ask (Matrix's rule " +
		"for who may upgrade; an IG-admin role gives no more); others are told who could. Behind the gatekeeper, a " +
		"clinical room can be upgraded only this way.",
	Run: (*Hardening).cmdUpgrade,
}

// cmdUpgrade replaces the room with a new one the bot creates, carries its
// protection over (followUpgrade, as for any upgrade the bot follows) and
// invites its members, as Element does after its own upgrade. A room the
// bot has already replaced (this command handled again after a crash, or
// asked twice) is finished, not upgraded again: every step after the
// upgrade is named by the two rooms, so none is done twice.
func (s *Hardening) cmdUpgrade(ctx context.Context, c *commands.Call) error {
	room := c.Evt.RoomID
	if refusal := s.upgradeRefusal(c.Facts); refusal != "" {
		return s.Reply(ctx, c.Evt, refusal)
	}
	repl, err := s.tombstoneTarget(ctx, room)
	if err != nil {
		return err
	}
	if repl != "" {
		version, mine, err := s.createdByBot(ctx, id.RoomID(repl))
		if err != nil || !mine {
			if err != nil {
				return err
			}
			return s.Reply(ctx, c.Evt, fmt.Sprintf("This room has already been replaced by %s. To upgrade again, type the command there.", repl))
		}
		return s.finishUpgrade(ctx, c, id.RoomID(repl), version)
	}
	versions, err := s.roomVersions(ctx, room)
	if err != nil {
		return err
	}
	if len(c.Args) > 0 {
		versions.Asked = c.Args[0]
	}
	version, refusal := policy.UpgradeVersion(versions)
	if refusal != "" {
		return s.Reply(ctx, c.Evt, refusal)
	}
	by := c.Evt.Sender.String()
	res, err := s.Exec.Execute(ctx, room, by, policy.UpgradeRoom(version, by))
	switch {
	case err != nil:
		return err
	case res.DryRun:
		return s.Reply(ctx, c.Evt, fmt.Sprintf("Dry run: I would upgrade this room to room version %s, but I am configured to change nothing.", version))
	case len(res.Failures) > 0:
		return s.Reply(ctx, c.Evt, "I could not upgrade this room: "+strings.Join(res.Failures, " "))
	}
	return s.finishUpgrade(ctx, c, res.Room, version)
}

// finishUpgrade carries the room's protection over to the replacement the
// bot made, invites the members and answers.
func (s *Hardening) finishUpgrade(ctx context.Context, c *commands.Call, newRoom id.RoomID, version string) error {
	room, by := c.Evt.RoomID, c.Evt.Sender.String()
	carried, err := s.followUpgrade(ctx, room, newRoom, by)
	if err != nil {
		return err
	}
	if !carried {
		return s.Reply(ctx, c.Evt, fmt.Sprintf("I upgraded this room to %s, but could not carry its protection over (the IG team has been told why). Do not share patient information there until they have looked at it.", newRoom))
	}
	succ := policy.Succession{OldRoom: room.String(), NewRoom: newRoom.String(), UpgradedBy: by}
	invited, failures, err := s.inviteMembers(ctx, succ)
	if err != nil {
		return err
	}
	return s.Reply(ctx, c.Evt, policy.UpgradedReply(succ, version, invited, failures))
}

// upgradeRefusal says why the bot will not upgrade the room, or "".
func (s *Hardening) upgradeRefusal(f policy.RoomFacts) string {
	if !policy.Guarded(f.Class) {
		return "This room is not classified, so I do not guard it and need not be in its replacement: upgrade it from your app (Room settings → Advanced)."
	}
	need, have := f.PowerLevels.EventLevel(policy.TombstoneEventType, true), f.PowerLevels.UserLevel(s.BotID.String())
	if have < need {
		return fmt.Sprintf("I cannot upgrade this room: that needs power level %d and I have %d. Give %s power level %d here and type the command again.", need, have, s.BotID, policy.BotPowerLevel)
	}
	return ""
}

// createdByBot reads whether the bot created a room, and its version.
func (s *Hardening) createdByBot(ctx context.Context, room id.RoomID) (version string, mine bool, err error) {
	create, err := s.Bot.FullStateEvent(ctx, room, event.StateCreate, "")
	switch {
	case errors.Is(err, mautrix.MForbidden), errors.Is(err, mautrix.MNotFound):
		return "", false, nil // a room the bot is not in: someone else's
	case err != nil:
		return "", false, retry.Transient(fmt.Errorf("read creation of %s: %w", room, err))
	}
	version, _ = create.Content.Raw["room_version"].(string)
	return cmp.Or(version, "1"), create.Sender == s.BotID, nil
}

// roomVersions reads the room's version and the versions the homeserver
// offers (GET /capabilities).
func (s *Hardening) roomVersions(ctx context.Context, room id.RoomID) (policy.RoomVersions, error) {
	var create struct {
		RoomVersion string `json:"room_version"`
	}
	if err := s.Bot.StateEvent(ctx, room, event.StateCreate, "", &create); err != nil {
		return policy.RoomVersions{}, retry.Transient(fmt.Errorf("read creation of %s: %w", room, err))
	}
	v := policy.RoomVersions{Current: cmp.Or(create.RoomVersion, "1")} // "1": a creation that names none
	caps, err := s.Bot.Capabilities(ctx)
	if err != nil {
		return v, retry.Transient(fmt.Errorf("read the homeserver's room versions: %w", err))
	}
	if rv := caps.RoomVersions; rv != nil {
		v.Default = rv.Default
		for ver, stability := range rv.Available {
			if stability == mautrix.CapRoomVersionStable {
				v.Stable = append(v.Stable, ver)
			}
		}
	}
	return v, nil
}

// inviteMembers invites the old room's members (people; the bots of the
// trusts aside) to the new room. It returns how many were invited and,
// for the person who asked, who could not be and why.
func (s *Hardening) inviteMembers(ctx context.Context, succ policy.Succession) (int, []string, error) {
	members, err := s.Facts.Members(ctx, id.RoomID(succ.OldRoom))
	if err != nil {
		return 0, nil, err
	}
	people := s.People(members)
	d := policy.InviteToReplacement(succ, people)
	ictx := executor.WithInput(ctx, "upgrade:"+succ.OldRoom+":"+succ.NewRoom+":invite")
	res, err := s.Exec.Execute(ictx, id.RoomID(succ.NewRoom), s.BotID.String(), d)
	if err != nil {
		return 0, nil, err
	}
	return len(people) - len(res.Failures), res.Failures, nil
}
