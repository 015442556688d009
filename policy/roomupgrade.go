package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A guarded room upgraded by a person is replaced by an invite-only room
// the bot is not in, unguarded until someone invites it. `!policy upgrade`
// has the bot upgrade the room itself instead: it creates the replacement,
// so the new room is guarded from its first event; and the gatekeeper
// refuses, before the homeserver sees it, a clinical room's upgrade asked
// by anyone else.

// GateUpgradeLeavesBot: a clinical room's upgrade asked of the homeserver
// by someone other than the bot, which would leave the bot out.
const GateUpgradeLeavesBot = "upgrade_leaves_bot"

// UpgradeGate judges a request to the homeserver to upgrade a room: in a
// clinical room only the bot may, and the person is told how to ask it.
func UpgradeGate(byBot bool, class Class) GateDecision {
	if byBot || class != Clinical {
		return GateDecision{Allow: true, Rule: GateUpgradeLeavesBot}
	}
	return GateDecision{Rule: GateUpgradeLeavesBot, Reason: "Upgrading a clinical room must keep Caldicott in it. " +
		"Type `!policy upgrade` in the room and I will upgrade it for you, with its protections and members."}
}

// MayUpgrade decides whether a may have the bot upgrade the room: only
// someone with the power to send m.room.tombstone there, who could have
// upgraded it themselves (an IG admin's role gives no more: the room's
// own power levels say who may replace it). A refusal names up to three
// of a.People who could.
func MayUpgrade(a Actor, pl PowerLevels) (ok bool, refusal string) {
	need := pl.EventLevel(TombstoneEventType, true)
	if a.Level >= need {
		return true, ""
	}
	msg := fmt.Sprintf("Upgrading this room needs power level %d (the level to replace it, `m.room.tombstone`), and you have %d: I upgrade a room only for someone who could upgrade it themselves.", need, a.Level)
	if a.IsIGAdmin {
		msg += " Your IG-admin role does not change that: the room's own power levels say who may replace it."
	}
	var able []string
	for _, p := range a.People {
		if p != a.UserID && pl.UserLevel(p) >= need {
			able = append(able, p)
		}
	}
	if len(able) == 0 {
		return false, msg + " Nobody in this room has that power but me; ask your IG team."
	}
	slices.SortFunc(able, func(x, y string) int {
		return cmp.Or(cmp.Compare(pl.UserLevel(y), pl.UserLevel(x)), strings.Compare(x, y))
	})
	names := make([]string, 0, 3)
	for _, p := range able[:min(3, len(able))] {
		names = append(names, fmt.Sprintf("%s (power %d)", p, pl.UserLevel(p)))
	}
	return false, msg + fmt.Sprintf(" Ask %s to type `!policy upgrade` here.", strings.Join(names, " or "))
}

// MaxUpgradeVersion is the newest room version the bot upgrades to. From
// version 12 a room's creators stand above every power level and are not
// listed in it, which the rules (the bot's power, the room's hierarchy)
// do not read yet.
const MaxUpgradeVersion = 11

// RoomVersions is what choosing a room upgrade's version needs.
type RoomVersions struct {
	// Current is the room's version (its m.room.create's room_version;
	// "1" when it names none).
	Current string
	// Default is the homeserver's version for new rooms and Stable the
	// versions it calls stable (GET /capabilities, m.room_versions).
	Default string
	Stable  []string
	// Asked is the version the person asked for, "" when none.
	Asked string
}

// UpgradeVersion chooses the version to upgrade a room to: the one asked
// for, else the homeserver's default when it is newer than the room's,
// else the room's own. A version that is not stable on the homeserver, or
// is newer than MaxUpgradeVersion, is refused, saying which may be used.
func UpgradeVersion(v RoomVersions) (version, refusal string) {
	usable := usableVersions(v.Stable)
	if v.Asked != "" {
		if slices.Contains(usable, v.Asked) {
			return v.Asked, ""
		}
		why := "is not one this homeserver offers as stable"
		if n, err := strconv.Atoi(v.Asked); err == nil && n > MaxUpgradeVersion && slices.Contains(v.Stable, v.Asked) {
			why = fmt.Sprintf("is newer than I can guard (up to %d: from 12 a room's creators stand above every power level)", MaxUpgradeVersion)
		}
		return "", fmt.Sprintf("Room version %q %s. Use one of: %s.", v.Asked, why, strings.Join(usable, ", "))
	}
	if slices.Contains(usable, v.Default) && versionNumber(v.Default) > versionNumber(v.Current) {
		return v.Default, ""
	}
	if slices.Contains(usable, v.Current) {
		return v.Current, ""
	}
	return "", fmt.Sprintf("This room's version (%s) is not one this homeserver offers as stable. Name one: `!policy upgrade <version>`, one of: %s.", v.Current, strings.Join(usable, ", "))
}

// usableVersions are the stable versions the bot upgrades to, oldest first.
func usableVersions(stable []string) []string {
	var out []string
	for _, s := range stable {
		if n := versionNumber(s); n > 0 && n <= MaxUpgradeVersion {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(versionNumber(a), versionNumber(b)) })
	return out
}

// versionNumber reads a numbered room version, 0 for any other
// (experimental versions are named, not numbered).
func versionNumber(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// UpgradeRoom has the bot upgrade the room the decision is about to
// version, for whoever asked.
func UpgradeRoom(version, by string) Decision {
	return Decision{Actions: []Action{{Kind: Upgrade, Rule: RuleRoomUpgrade, Version: version,
		Text: "upgrade this room to room version " + version, Reason: "asked by " + by + " with !policy upgrade"}}}
}

// InviteToReplacement invites the old room's members to the room that
// replaces it, as Element does after its own upgrade; executed in the new
// room.
func InviteToReplacement(s Succession, members []string) Decision {
	members = slices.Sorted(slices.Values(members))
	var d Decision
	for _, m := range members {
		d.Actions = append(d.Actions, Action{Kind: Invite, Rule: RuleRoomUpgrade, UserID: m,
			Text:   fmt.Sprintf("This room replaces %s, which you are in (upgraded at the request of %s).", s.OldRoom, s.UpgradedBy),
			Reason: "a member of " + s.OldRoom + ", which this room replaces"})
	}
	return d
}

// UpgradedReply answers `!policy upgrade` once the new room is guarded.
// failures are the invitations that could not be sent.
func UpgradedReply(s Succession, version string, invited int, failures []string) string {
	text := fmt.Sprintf("Done: this room is replaced by %s (room version %s). I created the new room myself, so it has been protected from its first event, "+
		"and its class, options, deletion period and what the IG team keeps about this room have moved with it. "+
		"I have invited the %d member(s) of this room: accept the invitation to move. This room is now closed; its history stays readable here.",
		s.NewRoom, version, invited)
	if len(failures) > 0 {
		text += " Some invitations could not be sent, so invite these people yourself: " + strings.Join(failures, "; ") + "."
	}
	return text
}
