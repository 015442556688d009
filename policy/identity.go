package policy

import (
	"fmt"
	"strings"
)

// IdentityFlags warns about a joiner's display name: one that differs from
// their directory name, or one that matches another member's name — the
// "someone pretending to be the registrar" risk.
func IdentityFlags(userID, displayName string, entry *StaffEntry, others map[string]string) []string {
	var flags []string
	shown := strings.TrimSpace(displayName)
	if entry != nil && shown != "" && !strings.EqualFold(shown, entry.Name) {
		flags = append(flags, fmt.Sprintf("⚠ %s shows the name %q, but the staff directory says %q.", userID, shown, entry.Name))
	}
	if shown == "" {
		return flags
	}
	for other, name := range others {
		if other != userID && strings.EqualFold(strings.TrimSpace(name), shown) {
			flags = append(flags, fmt.Sprintf("⚠ %s uses the same name, %q, as %s. Check who you are talking to.", userID, shown, other))
		}
	}
	return flags
}
