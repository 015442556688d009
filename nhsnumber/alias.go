package nhsnumber

import (
	"strings"
	"unicode"
)

// InAlias reports whether a room alias's localpart (or createRoom's
// room_alias_name) holds an NHS number. An alias has no spaces, so people
// write "#ward_9434765919", "#943.476.5919" or "#pt9434765919": the
// alias's separators _ . = - are read as spaces and a letter next to a
// digit as a word's end before the text is scanned as Contains scans it.
// The prose rules stay as they are; an alias is judged more widely,
// because it is shown outside the room wherever it is linked.
func InAlias(alias string) bool {
	var b strings.Builder
	b.Grow(len(alias) + 8)
	var prev rune
	for i, r := range alias {
		switch {
		case strings.ContainsRune("_.=-", r):
			r = ' '
		case i > 0 && (unicode.IsLetter(prev) && unicode.IsDigit(r) || unicode.IsDigit(prev) && unicode.IsLetter(r)):
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		prev = r
	}
	return Contains(b.String())
}
