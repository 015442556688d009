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

// CommandSpecs are the commands the bot understands, in help order.
var CommandSpecs = []CommandSpec{
	{Name: "help", Usage: "!policy help", Summary: "List the commands.", MaxArgs: 1, Place: Anywhere, Needs: AnyMember},
	{Name: "status", Usage: "!policy status", Summary: "Show this room's class, its protections and anything non-compliant.", Place: InRoom, Needs: AnyMember},
	{Name: "classify", Usage: "!policy classify clinical|operational|social", Summary: "Set this room's class; clinical rooms are hardened at once.", MinArgs: 1, MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "new-room", Usage: "!policy new-room clinical|operational|social <name>", Summary: "Create a room already classified (and hardened if clinical), with you as its admin.", MinArgs: 2, MaxArgs: -1, Place: InManagementOrDM, Needs: OwnTrustUser},
	{Name: "roles", Usage: "!policy roles Consultant, Registrar|any", Summary: "Room admins: only staff with these directory roles may be in this clinical room.", MinArgs: 1, MaxArgs: -1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "teams", Usage: "!policy teams Cardiology, Ward 7|any", Summary: "Room admins: only staff of these directory teams may be in this clinical room.", MinArgs: 1, MaxArgs: -1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "auto-approve", Usage: "!policy auto-approve directory|off", Summary: "Room admins: let eligible staff in on request without waiting for an admin.", MinArgs: 1, MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "suspend-mode", Usage: "!policy suspend-mode remove|mute", Summary: "Room admins: remove unverified members (default) or mute them until verified.", MinArgs: 1, MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "review", Usage: "!policy review [confirm]", Summary: "Room admins: start a membership review now, or confirm the open one.", MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "review-interval", Usage: "!policy review-interval 30d", Summary: "Room admins: how often this room's membership is reviewed.", MinArgs: 1, MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "remove", Usage: "!policy remove @user:server [reason]", Summary: "Room admins: remove someone from this room, with a reason they are shown.", MinArgs: 1, MaxArgs: -1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "request", Usage: "!policy request <#room:server or !roomid:server> [reason]", Summary: "Ask to join a clinical room; its admins decide (use in a direct chat with me).", MinArgs: 1, MaxArgs: -1, Place: InManagementOrDM, Needs: AnyMember},
	{Name: "approve", Usage: "!policy approve @user:server", Summary: "Room admins: let in someone who asked to join or was invited by a member.", MinArgs: 1, MaxArgs: 1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "deny", Usage: "!policy deny @user:server [reason]", Summary: "Room admins: turn down a request; the person is told, with your reason.", MinArgs: 1, MaxArgs: -1, Place: InRoom, Needs: RoomPolicyPower},
	{Name: "directory", Usage: "!policy directory [status|confirm|sync]", Summary: "IG admins: the staff directory's state; confirm a held sync; read LDAP now.", MaxArgs: 1, Place: InManagement, Needs: IGAdmin},
	{Name: "lost-device", Usage: "!policy lost-device @user:server", Summary: "IG admins: sign out every device of someone whose phone is lost, and hold them out of clinical rooms.", MinArgs: 1, MaxArgs: 1, Place: InManagement, Needs: IGAdmin},
	{Name: "release", Usage: "!policy release @user:server", Summary: "IG admins: let someone held out of clinical rooms back in.", MinArgs: 1, MaxArgs: 1, Place: InManagement, Needs: IGAdmin},
	{Name: "report", Usage: "!policy report", Summary: "IG admins: rooms by class, non-compliant rooms, waiting requests, held people and the directory.", Place: InManagement, Needs: IGAdmin},
	{Name: "verification", Usage: "!policy verification @user:server", Summary: "Explain one person's identity verification: cross-signing, devices, the trust's confirmation.", MinArgs: 1, MaxArgs: 1, Place: Anywhere, Needs: AnyMember},
	{Name: "verify", Usage: "!policy verify", Summary: "Confirm your own identity by comparing emoji with me (Element: \"Verify by emoji\").", MaxArgs: 0, Place: Anywhere, Needs: AnyMember},
	{Name: "attest", Usage: "!policy attest @user:server <fingerprint> [-- note]", Summary: "IG admins: record that you checked someone's identity fingerprint in person.", MinArgs: 2, MaxArgs: -1, Place: InManagement, Needs: IGAdmin},
	{Name: "trust-key", Usage: "!policy trust-key @bot:server <fingerprint>", Summary: "IG admins: accept another trust's Caldicott's new identity, after checking its fingerprint with that trust's IG team.", MinArgs: 2, MaxArgs: -1, Place: InManagement, Needs: IGAdmin},
	{Name: "leaver", Usage: "!policy leaver @user:server [reason]", Summary: "IG admins: record that someone has left and remove them from every clinical room now.", MinArgs: 1, MaxArgs: -1, Place: InManagement, Needs: IGAdmin},
}

// LookupCommand finds a command by name.
func LookupCommand(name string) (CommandSpec, bool) {
	for _, c := range CommandSpecs {
		if c.Name == name {
			return c, true
		}
	}
	return CommandSpec{}, false
}

// UnknownCommandReply helps someone who mistyped a command.
func UnknownCommandReply(name string) string {
	best, bestDist := "", 3
	for _, c := range CommandSpecs {
		if d := editDistance(name, c.Name); d < bestDist {
			best, bestDist = c.Name, d
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
		if a.IsIGAdmin || a.Level >= need {
			return true, ""
		}
		return false, fmt.Sprintf("You need power level %d in this room to change its policy (you have %d). Ask a room admin or your trust's IG admin to do it.", need, a.Level)
	}
	return false, "This command is not available."
}

// HelpText lists the commands with one line each.
func HelpText() string {
	var b strings.Builder
	b.WriteString("I am Caldicott, the guardian of clinical rooms. Commands:\n")
	for _, c := range CommandSpecs {
		fmt.Fprintf(&b, "• `%s` — %s\n", c.Usage, c.Summary)
	}
	b.WriteString("You can also address me by name, e.g. \"Caldicott: status\".")
	return b.String()
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
