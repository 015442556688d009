package policy

import (
	"fmt"
	"strings"
)

// Place is where a command may be used.
type Place int

// Places a command is allowed in.
const (
	// InRoom: the command acts on the room it is typed in.
	InRoom Place = iota
	// Anywhere: help and similar.
	Anywhere
	// InManagementOrDM: trust-wide commands, in the management room or a direct chat with the bot.
	InManagementOrDM
	// InManagement: IG admins' commands, in the management room only.
	InManagement
)

// Permission is who may run a command.
type Permission int

// Permissions, from least to most restrictive.
const (
	// AnyMember may run it.
	AnyMember Permission = iota
	// RoomPolicyPower: power to send the org.caldicott.policy state event, or an IG admin.
	RoomPolicyPower
	// OwnTrustUser: a user of this trust's homeserver.
	OwnTrustUser
	// IGAdmin: one of the trust's IG admins (trust.ig_admins).
	IGAdmin
	// RoomUpgradePower: power to send m.room.tombstone, Matrix's own rule
	// for who may upgrade a room; no IG-admin exception (see MayUpgrade).
	RoomUpgradePower
)

// CommandSpec describes one command for parsing, help and authorisation.
type CommandSpec struct {
	Name    string
	Usage   string
	Summary string
	MinArgs int
	// MaxArgs < 0 means any number.
	MaxArgs int
	Place   Place
	Needs   Permission
}

// UnknownCommandReply helps someone who mistyped a command: known are the
// commands there are.
func UnknownCommandReply(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	msg := fmt.Sprintf("I don't know the command %q.", name)
	if best != "" {
		msg += fmt.Sprintf(" Did you mean `!policy %s`?", best)
	}
	return msg + " Type `!policy help` for the list."
}

// CheckArgs returns a reply explaining a wrong number of arguments, or "".
func CheckArgs(spec CommandSpec, args []string) string {
	if len(args) < spec.MinArgs || (spec.MaxArgs >= 0 && len(args) > spec.MaxArgs) {
		return fmt.Sprintf("That is not quite right. Usage: `%s` — %s", spec.Usage, spec.Summary)
	}
	return ""
}

// Actor is who typed a command, with what the room says of their power.
type Actor struct {
	UserID    string
	Level     int64
	IsIGAdmin bool
	OwnServer string
	// OwnTrustRoom: the room the command is typed in was created by
	// someone of this trust's server (OwnTrustRoom). An IG admin's role
	// counts only there.
	OwnTrustRoom bool
	// People are the room's members who are people (bots aside), for a
	// refusal that names whom to ask; read only for RoomUpgradePower.
	People []string
}

// Authorize decides whether actor may run spec; when not, the refusal says
// what power is needed and what to do.
func Authorize(spec CommandSpec, a Actor, pl PowerLevels) (ok bool, refusal string) {
	switch spec.Needs {
	case AnyMember:
		return true, ""
	case OwnTrustUser:
		if a.IsIGAdmin || strings.HasSuffix(a.UserID, ":"+a.OwnServer) {
			return true, ""
		}
		return false, fmt.Sprintf("Only users of this trust's server (%s) can use `%s`. Ask an admin of your own trust.", a.OwnServer, spec.Usage)
	case IGAdmin:
		if a.IsIGAdmin {
			return true, ""
		}
		return false, fmt.Sprintf("Only your trust's IG admins can use `%s`.", spec.Usage)
	case RoomPolicyPower:
		need := pl.EventLevel(PolicyEventType, true)
		if (a.IsIGAdmin && a.OwnTrustRoom) || a.Level >= need {
			return true, ""
		}
		if a.IsIGAdmin {
			return false, fmt.Sprintf("This room was created by another trust, so your IG-admin role does not count here: you have power level %d and changing its policy needs %d. Ask one of this room's admins, or the IG team of the trust that created it.", a.Level, need)
		}
		return false, fmt.Sprintf("You need power level %d in this room to change its policy (you have %d). Ask a room admin or your trust's IG admin to do it.", need, a.Level)
	case RoomUpgradePower:
		return MayUpgrade(a, pl)
	}
	return false, "This command is not available."
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
