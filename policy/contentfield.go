package policy

import "strings"

// ContentField reads a key of event content as Go's encoding/json — and so
// Dendrite and gomatrixserverlib — reads it into a struct: the key as
// written if present, else one that matches it ignoring case. A rule that
// looked up only the exact key would judge `{"Membership":"invite"}` as no
// invitation while the homeserver stores one (found in review). Content
// with two spellings of one key is refused before it reaches a rule.
func ContentField(content map[string]any, key string) any {
	if v, ok := content[key]; ok {
		return v
	}
	for k, v := range content {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// ContentString is ContentField as a string ("" when absent or not one).
func ContentString(content map[string]any, key string) string {
	s, _ := ContentField(content, key).(string)
	return s
}
