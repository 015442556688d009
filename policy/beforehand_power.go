package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// powerLevelsGate judges power levels a clinical room would get, by what
// the hardening needs of them (Harden): the bot at BotPowerLevel, nobody
// above it (who could demote it), and every setting the hardening table
// watches, and the power levels themselves, changeable at the bot's level
// (or it could never repair them). botByDefault: a bot the content does
// not name is at users_default (a change in a room it is in); otherwise
// only a bot the content names is judged (a new room, which the bot joins
// later and is given its power in).
func powerLevelsGate(content map[string]any, r Requirements, botByDefault bool) GateDecision {
	pl := readPowerLevels(content)
	level, named := pl.Users[r.BotUserID]
	if !named {
		level = pl.UsersDefault
	}
	if (named || botByDefault) && level < BotPowerLevel {
		return GateDecision{Rule: GateHardening, Reason: fmt.Sprintf(
			"This is a clinical room, so %s must keep power level %d (this change would leave it at %d): it is what keeps the room's protections in place. Change other people's power levels without lowering %s.",
			r.BotUserID, BotPowerLevel, level, r.BotUserID)}
	}
	for user, l := range pl.Users {
		if l > BotPowerLevel {
			return GateDecision{Rule: GateHardening, Reason: fmt.Sprintf(
				"This is a clinical room, so nobody may have a power level above %d, %s's (this would give %s %d): they could take its protections away. Give them %d at most.",
				BotPowerLevel, r.BotUserID, user, l, BotPowerLevel)}
		}
	}
	if pl.UsersDefault > BotPowerLevel {
		return GateDecision{Rule: GateHardening, Reason: fmt.Sprintf(
			"This is a clinical room, so nobody may have a power level above %d, %s's (this would give everyone %d). Give them %d at most.",
			BotPowerLevel, r.BotUserID, pl.UsersDefault, BotPowerLevel)}
	}
	for _, eventType := range HardeningEventTypes {
		if need := pl.EventLevel(eventType, true); need > BotPowerLevel {
			return GateDecision{Rule: GateHardening, Reason: fmt.Sprintf(
				"This is a clinical room, so changing %s must need power level %d at most, %s's (this would need %d): otherwise its protections could not be kept.",
				eventType, BotPowerLevel, r.BotUserID, need)}
		}
	}
	return GateDecision{Allow: true, Rule: GateHardening}
}

// readPowerLevels reads power levels content as the homeserver does (keys
// in any case; numbers, or numeric strings as older room versions allow),
// with the spec's defaults for what it leaves out.
func readPowerLevels(content map[string]any) PowerLevels {
	pl := PowerLevels{Users: map[string]int64{}, Events: map[string]int64{}, StateDefault: 50}
	if v, ok := powerLevel(ContentField(content, "users_default")); ok {
		pl.UsersDefault = v
	}
	if v, ok := powerLevel(ContentField(content, "state_default")); ok {
		pl.StateDefault = v
	}
	users, _ := ContentField(content, "users").(map[string]any)
	for u, v := range users {
		if l, ok := powerLevel(v); ok {
			pl.Users[u] = l
		}
	}
	events, _ := ContentField(content, "events").(map[string]any)
	for e, v := range events {
		if l, ok := powerLevel(v); ok {
			pl.Events[e] = l
		}
	}
	return pl
}

// powerLevel reads one level as gomatrixserverlib does (levelJSONValue,
// room versions 1 to 9): a JSON number (a fraction cut off), or a string
// holding an integer, spaces around it trimmed — " 1000" is 1000 to
// Dendrite, so it must be to the rules.
func powerLevel(v any) (int64, bool) {
	if s, ok := v.(string); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	}
	n := numberOr(v, -1<<63)
	return n, n != -1<<63
}
