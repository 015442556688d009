package policy

import (
	"strings"
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
	lower := strings.ToLower(line)
	candidates := []string{CommandPrefix}
	if botUserID != "" {
		candidates = append(candidates, strings.ToLower(botUserID))
		if local, _, ok := strings.Cut(strings.TrimPrefix(botUserID, "@"), ":"); ok {
			candidates = append(candidates, strings.ToLower(local))
		}
	}
	if botDisplayName != "" {
		candidates = append(candidates, strings.ToLower(botDisplayName))
	}
	for _, c := range candidates {
		if !strings.HasPrefix(lower, c) {
			continue
		}
		rest := line[len(c):]
		// The prefix must end there: "!policyfoo" is not "!policy foo".
		if rest != "" && !strings.ContainsRune(" \t:,", rune(rest[0])) {
			continue
		}
		rest = strings.TrimLeft(rest, ":, \t")
		// "@caldicott: !policy status" is the same as "!policy status".
		if c != CommandPrefix && strings.HasPrefix(strings.ToLower(rest), CommandPrefix) {
			rest = strings.TrimSpace(rest[len(CommandPrefix):])
		}
		return rest, true
	}
	return "", false
}
