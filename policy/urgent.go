package policy

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// UrgentReminderText is the urgent-message reminder. It never quotes the
// message: the reminder is about the channel, not about the patient.
const UrgentReminderText = "If this is urgent, phone — messages here may not be seen in time."

// UrgentReminder is the urgent-message reminder's setting: the phrases that
// make a message read as urgent, and how long a room waits between two
// reminders, so that a busy room is not told the same thing all shift.
type UrgentReminder struct {
	Words []string
	Every time.Duration
}

// Decide says whether a message of text in a room of class c, whose last
// reminder was posted at last (zero: never), calls for the reminder now.
// Only clinical rooms are reminded: the others are not for patient care.
func (r UrgentReminder) Decide(c Class, text string, last, now time.Time) Decision {
	if c != Clinical || !ReadsAsUrgent(text, r.Words) {
		return Decision{}
	}
	if !last.IsZero() && now.Sub(last) < r.Every {
		return Decision{}
	}
	return Decision{Actions: []Action{{
		Kind: NotifyRoom, Rule: RuleUrgentReminder, Text: UrgentReminderText,
		Reason: "a message in a clinical room read as urgent",
	}}}
}

// ReadsAsUrgent reports whether text holds one of words as a whole phrase,
// whatever the case and however the spaces inside it are written ("NEWS 7"
// matches "news  7", not "NEWS 70" or "insurgent"). Quoted lines (a reply's
// fallback, "> …") are not the sender's words and are left out.
func ReadsAsUrgent(text string, words []string) bool {
	own := make([]string, 0, 8)
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), ">") {
			own = append(own, line)
		}
	}
	hay := foldPhrase(strings.Join(own, " "))
	for _, w := range words {
		if w = foldPhrase(w); w != "" && hasPhrase(hay, w) {
			return true
		}
	}
	return false
}

// foldPhrase lowers s and writes every run of spaces as one space.
func foldPhrase(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// hasPhrase reports whether phrase occurs in hay with no letter or digit
// touching it on either side.
func hasPhrase(hay, phrase string) bool {
	for from := 0; ; {
		i := strings.Index(hay[from:], phrase)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(phrase)
		before, _ := utf8.DecodeLastRuneInString(hay[:start])
		after, _ := utf8.DecodeRuneInString(hay[end:])
		if !wordRune(before) && !wordRune(after) {
			return true
		}
		from = start + 1
	}
}

// wordRune: a letter or digit (utf8.RuneError, for the ends of the text, is
// neither).
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
