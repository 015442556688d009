package policy

import (
	"strings"
	"unicode/utf8"
)

// CommandPrefix starts every command typed to the bot.
const CommandPrefix = "!policy"

// Command is a parsed bot command.
type Command struct {
	Name string
	Args []string
}

// ParseCommand reads a message body. It returns ok=false when the message is
// not addressed to the bot: it neither starts with !policy nor mentions the
// bot first ("@caldicott:trust-a status", "Caldicott: status"). A bare
// "!policy" is the help command.
func ParseCommand(body, botUserID, botDisplayName string) (Command, bool) {
	line := strings.TrimSpace(body)
	// Only the first line counts: Element puts reply fallbacks ("> <@x> ...")
	// before the text, but those start with '>' and are not commands anyway.
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	rest, ok := stripAddress(line, botUserID, botDisplayName)
	if !ok {
		return Command{}, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return Command{Name: "help"}, true
	}
	return Command{Name: strings.ToLower(fields[0]), Args: fields[1:]}, true
}

func stripAddress(line, botUserID, botDisplayName string) (string, bool) {
	candidates := []string{CommandPrefix}
	if botUserID != "" {
		candidates = append(candidates, botUserID)
		if local, _, ok := strings.Cut(strings.TrimPrefix(botUserID, "@"), ":"); ok {
			candidates = append(candidates, local)
		}
	}
	if botDisplayName != "" {
		candidates = append(candidates, botDisplayName)
	}
	for _, c := range candidates {
		rest, ok := cutPrefixFold(line, c)
		if !ok {
			continue
		}
		// The prefix must end there: "!policyfoo" is not "!policy foo".
		if rest != "" && !strings.ContainsRune(" \t:,", rune(rest[0])) {
			continue
		}
		rest = strings.TrimLeft(rest, ":, \t")
		// "@caldicott: !policy status" is the same as "!policy status".
		if c != CommandPrefix {
			if after, ok := cutPrefixFold(rest, CommandPrefix); ok {
				rest = strings.TrimSpace(after)
			}
		}
		return rest, true
	}
	return "", false
}

// cutPrefixFold returns s without prefix, matched rune by rune without
// regard to case, and whether s starts with it. It walks both strings
// rather than lower-casing s and cutting at len(prefix): a rune and its
// lower case can differ in length ("Ⱥ" is two bytes, "ⱥ" three; an invalid
// byte becomes the three-byte U+FFFD), and cutting at the wrong place read
// the wrong words, or past the end of a short message and panicked.
func cutPrefixFold(s, prefix string) (string, bool) {
	for prefix != "" {
		if s == "" {
			return "", false
		}
		r1, n1 := utf8.DecodeRuneInString(s)
		r2, n2 := utf8.DecodeRuneInString(prefix)
		same := s[:n1] == prefix[:n2] ||
			r1 != utf8.RuneError && r2 != utf8.RuneError && strings.EqualFold(s[:n1], prefix[:n2])
		if !same {
			return "", false
		}
		s, prefix = s[n1:], prefix[n2:]
	}
	return s, true
}
