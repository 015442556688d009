package nhsnumber

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// What counts as an NHS number in free text (Contains, Count, Redact):
//
//   - ASCII digits written as 10 together ("9434765919") or grouped 3-3-4
//     with single spaces or with single dashes, the same throughout
//     ("943 476 5919", "943-476-5919"; not "943 476-5919"), carrying a
//     matching check digit;
//   - standing alone: the character on either side is not a letter, digit or
//     underscore in any script, so digits inside a word, a Matrix event ID, a
//     hash or "NHS9434765919" do not count;
//   - not part of a longer number: no space, dash or dot with a digit directly
//     beyond it on either side, so a phone number ("+44 943 476 5919 1"), a
//     reference ("2024-9434765919"), a decimal ("0.9434765919") or a longer
//     run ("12345678901234") does not count — nor, the price of that rule,
//     do "bed 4 9434765919" and "at 14:30 9434765919", which cannot be told
//     from a phone number such as "+44 7700900124"; a comma, colon, slash or
//     new line directly beside the number ("bed 4, 9434765919") keeps it apart.
//
// The scan is one pass over the text with a bounded look-ahead: linear time,
// no allocation.

// Contains reports whether text holds an NHS number.
func Contains(text string) bool {
	start, _ := next(text, 0)
	return start >= 0
}

// Count returns how many NHS numbers text holds.
func Count(text string) int {
	n := 0
	for _, end := next(text, 0); end >= 0; _, end = next(text, end) {
		n++
	}
	return n
}

// Redact returns text with every NHS number in it replaced by mask; text
// itself, without copying, when it holds none.
func Redact(text, mask string) string {
	start, end := next(text, 0)
	if start < 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	done := 0
	for ; start >= 0; start, end = next(text, end) {
		b.WriteString(text[done:start])
		b.WriteString(mask)
		done = end
	}
	b.WriteString(text[done:])
	return b.String()
}

// next returns the span of the first NHS number in text at or after from,
// or -1, -1.
func next(text string, from int) (start, end int) {
	for i := from; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		run := digitRunEnd(text, i)
		if d, end, ok := read(text, i, run); ok && checks(&d) && standsAlone(text, i, end) {
			return i, end
		}
		i = run
	}
	return -1, -1
}

// digitRunEnd returns the index just past the ASCII digits starting at i.
func digitRunEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// read takes the ten digits of a number written in an accepted form that
// starts at i, whose first run of digits ends at run. It looks at most nine
// bytes past run.
func read(s string, i, run int) (d [Length]byte, end int, ok bool) {
	switch run - i {
	case Length:
		copy(d[:], s[i:run])
		return d, run, true
	case 3:
		// 3-3-4: sep, three digits, the same sep, four digits, then no digit.
		end = run + 9
		if end > len(s) {
			return d, 0, false
		}
		sep := s[run]
		if sep != ' ' && sep != '-' || s[run+4] != sep || digitRunEnd(s, run+1) != run+4 || digitRunEnd(s, run+5) != end {
			return d, 0, false
		}
		copy(d[0:3], s[i:run])
		copy(d[3:6], s[run+1:run+4])
		copy(d[6:10], s[run+5:end])
		return d, end, true
	}
	return d, 0, false
}

// standsAlone applies the boundary rules above to the number at [start, end).
func standsAlone(s string, start, end int) bool {
	if start > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:start])
		if isWordRune(r) || isJoiner(r) && start-n > 0 && isDigit(s[start-n-1]) {
			return false
		}
	}
	if end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if isWordRune(r) || isJoiner(r) && end+n < len(s) && isDigit(s[end+n]) {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || isDigit(byte(r)) || uint32(r|0x20)-'a' < 26
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isJoiner(r rune) bool { return r == ' ' || r == '-' || r == '.' }
