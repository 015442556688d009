package policylist

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes text from the list room safe to show in a management room or a
// log: control characters (a newline could forge a line of a report) become
// spaces, and it is cut to max bytes on a character boundary, with an
// ellipsis saying so.
func clean(s string, max int) string {
	if len(s) <= max && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// serverOf returns the server part of a user ID, or "" when it has none.
func serverOf(userID string) string {
	_, server, _ := strings.Cut(userID, ":")
	return server
}

// localOf returns the localpart of a user ID ("@alice:a" → "alice").
func localOf(userID string) string {
	local, _, _ := strings.Cut(strings.TrimPrefix(userID, "@"), ":")
	return local
}
