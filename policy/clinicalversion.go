package policy

import (
	"cmp"
	"fmt"
	"strings"
)

// GateClinicalVersion: a room made clinical in a room version whose
// creators stand above every power level (12 on), where the bot's power
// cannot keep them from removing it or undoing its protections.
const GateClinicalVersion = "clinical_room_version"

// GuardableVersion reports whether the bot can guard a room of version v:
// a numbered version up to MaxUpgradeVersion, the newest it upgrades to
// ("" reads as "1", as a creation that names none; a named, experimental
// version is not one the rules have read).
func GuardableVersion(v string) bool {
	n := versionNumber(cmp.Or(v, "1"))
	return n > 0 && n <= MaxUpgradeVersion
}

// ClinicalVersionGate judges making a room of version v clinical (creating
// it so, classifying it, editing its policy event), additionalCreators
// whether its creation names more creators: in versions 12 on, the
// creators outrank every power level, the bot's included, so the room
// could not be kept as clinical rooms must be. Other classes pass.
func ClinicalVersionGate(to Class, v string, additionalCreators bool) GateDecision {
	switch {
	case to != Clinical:
	case !GuardableVersion(v):
		return GateDecision{Rule: GateClinicalVersion, Reason: fmt.Sprintf("A clinical room must be in a room version I can guard (up to %d): in version %s the room's creators stand above every power level, mine included, so I could not keep its protections. Create the room in version %d or older.", MaxUpgradeVersion, cmp.Or(v, "1"), MaxUpgradeVersion)}
	case additionalCreators:
		return GateDecision{Rule: GateClinicalVersion, Reason: "A clinical room cannot name additional creators: they would stand above every power level, mine included. Create it without additional_creators and give people power levels instead."}
	}
	return GateDecision{Allow: true, Rule: GateClinicalVersion}
}

// NamesAdditionalCreators: a room's creation content (m.room.create, or
// createRoom's creation_content) names additional creators, under any
// case of the key (Dendrite reads it into a struct, as encoding/json
// matches keys).
func NamesAdditionalCreators(creation map[string]any) bool {
	for k, v := range creation {
		if strings.EqualFold(k, "additional_creators") && v != nil {
			return true
		}
	}
	return false
}
