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
//     hash, "NHS9434765919" or "id_9434765919" do not count — except
//     underscores that are markdown emphasis, with nothing word-like beyond
//     them ("_9434765919_", "__943 476 5919__"), which do;
//   - not part of a longer number: digits joined to it by its own kind of
//     separator continue it — a space for a number grouped with spaces, a
//     dash for one grouped with dashes; a dash or a dot with a digit beyond
//     always does; a space does when the digits before it begin a phone
//     number (a "+" dialling code or a "0" trunk prefix), and digits after a
//     space-grouped number continue it. So a phone number ("+44 943 476
//     5919", "+44 7700900124"), a reference ("2024-9434765919",
//     "943-476-5919-1") or a decimal ("0.9434765919") does not count, while
//     "bed 4 9434765919", "bed 4 943 476 5919", "Bed 4 943-476-5919" and
//     "at 14:30 9434765919" do.
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
// itself, without copying, when it holds none. What it returns holds none
// either: taking one number out can leave another standing alone — in
// "943 476 5919 9434765919" the first is part of a longer number only
// while the second is there — so the result is scanned again until no
// number is left. Each pass takes out at least ten digits, so a mask
// without digits ends it; the bound stops any other.
func Redact(text, mask string) string {
	out := redactOnce(text, mask)
	for passes := len(text) / Length; passes > 0 && Contains(out); passes-- {
		out = redactOnce(out, mask)
	}
	return out
}

func redactOnce(text, mask string) string {
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
		if d, end, sep, ok := read(text, i, run); ok && checks(&d) && standsAlone(text, i, end, sep) {
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
func read(s string, i, run int) (d [Length]byte, end int, sep byte, ok bool) {
	switch run - i {
	case Length:
		copy(d[:], s[i:run])
		return d, run, 0, true
	case 3:
		// 3-3-4: sep, three digits, the same sep, four digits, then no digit.
		end = run + 9
		if end > len(s) {
			return d, 0, 0, false
		}
		sep = s[run]
		if sep != ' ' && sep != '-' || s[run+4] != sep || digitRunEnd(s, run+1) != run+4 || digitRunEnd(s, run+5) != end {
			return d, 0, 0, false
		}
		copy(d[0:3], s[i:run])
		copy(d[3:6], s[run+1:run+4])
		copy(d[6:10], s[run+5:end])
		return d, end, sep, true
	}
	return d, 0, 0, false
}

// standsAlone applies the boundary rules above to the number at [start,
// end), grouped with sep (0: written together).
func standsAlone(s string, start, end int, sep byte) bool {
	start, end = pastEmphasis(s, start, end)
	if start > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:start])
		if isWordRune(r) {
			return false
		}
		if digitBefore := start-n > 0 && isDigit(s[start-n-1]); digitBefore && joins(r, sep, phonePrefix(s, start-n)) {
			return false
		}
	}
	if end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if isWordRune(r) {
			return false
		}
		if digitAfter := end+n < len(s) && isDigit(s[end+n]); digitAfter && joins(r, sep, sep == ' ') {
			return false
		}
	}
	return true
}

// joins reports whether r, with digits beyond it, makes them part of the
// number grouped with sep: a dash or a dot always; a space only when those
// digits read as the start of a phone number (phone: a dialling code or a
// trunk prefix) — after a space-grouped number, any digits do.
func joins(r rune, sep byte, phone bool) bool {
	switch r {
	case '-', '.':
		return true
	case ' ':
		return phone && (sep == ' ' || sep == 0)
	}
	return false
}

// phonePrefix reports whether the digits that end just before i begin a
// phone number: an international dialling code ("+44 7700900124", "+44
// 943 476 5919") or a trunk prefix ("0 943 476 5919"), not a bed or a
// time ("bed 4 943 476 5919").
func phonePrefix(s string, i int) bool {
	j := i
	for j > 0 && isDigit(s[j-1]) {
		j--
	}
	return j < i && (j > 0 && s[j-1] == '+' || s[j] == '0')
}

// pastEmphasis widens [start, end) over the underscores around it when
// they are markdown emphasis ("_9434765919_", "__943 476 5919__"): a run of
// underscores with no letter or digit beyond it. Joined to a word
// ("id_9434765919") the underscore stays part of it.
func pastEmphasis(s string, start, end int) (int, int) {
	i := start
	for i > 0 && s[i-1] == '_' {
		i--
	}
	if i < start {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); i == 0 || !isWordRune(r) {
			start = i
		}
	}
	j := end
	for j < len(s) && s[j] == '_' {
		j++
	}
	if j > end {
		if r, _ := utf8.DecodeRuneInString(s[j:]); j == len(s) || !isWordRune(r) {
			end = j
		}
	}
	return start, end
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || isDigit(byte(r)) || uint32(r|0x20)-'a' < 26
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
