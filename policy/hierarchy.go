package policy

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The room's own hierarchy. The bot sits at the top of every clinical room,
// so whoever can make it act borrows its power. It acts for someone only
// where they could have acted themselves: the room's power levels bound
// what anyone can make it do there. An IG admin of this trust is the one
// exception, and only in rooms this trust created; in another trust's room
// they have the power that room gave them, like anyone else.

// PersonAct is something the bot does to a person at someone's request.
type PersonAct int

// What the bot can be asked to do to a person.
const (
	// ActRemove removes a member (a kick). Matrix lets someone kick only
	// with the room's kick level and more power than the member.
	ActRemove PersonAct = iota
	// ActInvite invites someone. Matrix needs the room's invite level.
	ActInvite
)

// OwnTrustRoom reports whether a room was created by someone of this
// trust's server (the bot itself included).
func OwnTrustRoom(creator, ownServer string) bool {
	return creator != "" && serverOf(creator) == ownServer
}

// IGAdminHere reports whether someone's IG-admin role counts in a room:
// only in a room of their own trust.
func IGAdminHere(isIGAdmin bool, creator, ownServer string) bool {
	return isIGAdmin && OwnTrustRoom(creator, ownServer)
}

// ActOnPerson is one request to the bot to act on someone.
type ActOnPerson struct {
	Act            PersonAct
	Caller, Target string
	// CallerLevel and TargetLevel are their power levels in the room.
	CallerLevel, TargetLevel int64
	// Required is the room's level for the act: kick for a removal,
	// invite for an invitation.
	Required int64
	// BotLevel is the bot's own power: Matrix lets nobody, the bot
	// included, remove someone at or above their own level.
	BotLevel int64
	// CallerIsIGAdmin: the caller is one of this trust's IG admins.
	// OwnTrustRoom: the room was created by someone of this trust's server.
	CallerIsIGAdmin, OwnTrustRoom bool
	// Deciders are members who could do it themselves, named in a
	// refusal so the caller knows whom to ask (see Deciders).
	Deciders []string
}

// NewActOnPerson reads the levels of caller, target and bot from the
// room's power levels.
func NewActOnPerson(act PersonAct, caller, target, bot string, pl PowerLevels, callerIsIGAdmin, ownTrustRoom bool) ActOnPerson {
	required := pl.Kick
	if act == ActInvite {
		required = pl.Invite
	}
	return ActOnPerson{
		Act: act, Caller: caller, Target: target,
		CallerLevel: pl.UserLevel(caller), TargetLevel: pl.UserLevel(target),
		Required: required, BotLevel: pl.UserLevel(bot),
		CallerIsIGAdmin: callerIsIGAdmin, OwnTrustRoom: ownTrustRoom,
	}
}

// MayActFor decides whether the bot may do a.Act to a.Target for a.Caller.
// When not, the refusal says why and what to do, in words for the caller.
func MayActFor(a ActOnPerson) (ok bool, refusal string) {
	igHere := a.CallerIsIGAdmin && a.OwnTrustRoom
	if a.Act == ActRemove {
		if a.Target == a.Caller {
			return false, "I remove other people, not the person asking. To leave this room, use Leave in your app."
		}
		if !igHere {
			if a.CallerLevel < a.Required {
				return false, fmt.Sprintf("Removing someone from this room needs power level %d, and you have %d.%s%s", a.Required, a.CallerLevel, a.foreignIG(), a.askSomeone())
			}
			if a.TargetLevel >= a.CallerLevel {
				return false, fmt.Sprintf("I cannot remove %s for you: they have power level %d in this room, %s yours (%d), and I act for you only where you could act yourself.%s%s",
					a.Target, a.TargetLevel, sameOrAbove(a.TargetLevel, a.CallerLevel), a.CallerLevel, a.foreignIG(), a.askSomeone())
			}
		}
		if a.TargetLevel >= a.BotLevel {
			return false, fmt.Sprintf("I cannot remove %s: they have power level %d, as much as I have (%d), and Matrix lets nobody remove someone at or above their own level. Only they can leave or lower their own level; if they must go, ask them, or your trust's IG team.",
				a.Target, a.TargetLevel, a.BotLevel)
		}
		return true, ""
	}
	if !igHere && a.CallerLevel < a.Required {
		return false, fmt.Sprintf("Inviting someone to this room needs power level %d, and you have %d.%s%s", a.Required, a.CallerLevel, a.foreignIG(), a.askSomeone())
	}
	return true, ""
}

func sameOrAbove(target, caller int64) string {
	if target == caller {
		return "the same as"
	}
	return "above"
}

// foreignIG explains, to an IG admin in another trust's room, why their
// role does not count here.
func (a ActOnPerson) foreignIG() string {
	if a.CallerIsIGAdmin && !a.OwnTrustRoom {
		return " Your IG-admin role covers your own trust's rooms; this room was created by another trust, so here you have only the power its admins gave you."
	}
	return ""
}

func (a ActOnPerson) askSomeone() string {
	if len(a.Deciders) == 0 {
		return " Ask a room admin with more power to do it."
	}
	return fmt.Sprintf(" Ask someone here with more power to do it: %s.", strings.Join(a.Deciders, ", "))
}

// Deciders are the members (bot aside) who could do act themselves to
// someone at targetLevel, highest first, at most three: whom to ask.
func Deciders(act PersonAct, targetLevel int64, members []string, bot string, pl PowerLevels) []string {
	required := pl.Kick
	if act == ActInvite {
		required = pl.Invite
	}
	var able []string
	for _, m := range members {
		l := pl.UserLevel(m)
		if m != bot && l >= required && (act != ActRemove || l > targetLevel) {
			able = append(able, m)
		}
	}
	slices.SortFunc(able, func(a, b string) int {
		if c := cmp.Compare(pl.UserLevel(b), pl.UserLevel(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make([]string, 0, 3)
	for _, m := range able[:min(3, len(able))] {
		out = append(out, fmt.Sprintf("%s (power %d)", m, pl.UserLevel(m)))
	}
	return out
}

// FilterReach is the power level from which a room's role and team filters
// remove nobody: that of whoever set them, since a filter acts for them and
// removes only people they could have removed themselves. An IG admin of
// this trust setting them in a room of this trust reaches everyone. When
// nobody is known to have set them (rooms filtered before filters named
// their setter), room admins — those with power over the room's policy —
// are out of reach.
func (f RoomFacts) FilterReach(setter string, setterIsIGAdmin bool, ownServer string) int64 {
	switch {
	case setter == "":
		return f.PowerLevels.EventLevel(PolicyEventType, true)
	case IGAdminHere(setterIsIGAdmin, f.Creator, ownServer):
		return math.MaxInt64
	}
	return f.PowerLevels.UserLevel(setter)
}

// FilterLeftReply tells whoever set a filter which members it did not
// remove because they are at or above the setter's level, and who can
// decide about them. left maps each such member to their level.
func FilterLeftReply(left []string, setterLevel int64, deciders []string, pl PowerLevels) string {
	if len(left) == 0 {
		return ""
	}
	names := make([]string, len(left))
	for i, u := range left {
		names[i] = fmt.Sprintf("%s (power %d)", u, pl.UserLevel(u))
	}
	text := fmt.Sprintf("I have not removed %s: they do not fit this room's roles or teams, but their power level is at or above yours (%d), and I act for you only where you could act yourself.", strings.Join(names, ", "), setterLevel)
	if len(deciders) > 0 {
		return text + fmt.Sprintf(" Someone with more power decides about them: ask %s to remove them with `!policy remove`, or to set the filter again themselves.", strings.Join(deciders, " or "))
	}
	return text + " A room admin with more power decides about them: they can remove them with `!policy remove`, or set the filter again themselves."
}
