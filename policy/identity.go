package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caldicott/caldicott/internal/lookalike"
)

// maxLookAlikes caps how many look-alikes one warning names, so a room
// full of "Alex"es gets a line, not a page.
const maxLookAlikes = 3

// IdentityFlags warns the room about a joiner whose display name looks like
// someone else: another member's display name, another staff member's
// directory name (m.StaffNames), the bot, or a team or system account
// ("IG Admin", "NHS", "System"). Names are compared by lookalike.Key, so
// case, spacing, a "Dr", Cyrillic or Greek look-alike letters and digits for
// letters make no difference.
//
// A name that is merely not the joiner's directory name is not flagged: the
// localpart Dendrite shows by default, a nickname or another spelling of
// their own name. The identity notice already says what the directory
// calls them. A joiner showing their own directory name is never flagged
// for a namesake in the directory, only for one in the room.
func IdentityFlags(m MemberCheck, g GateRules) []string {
	shown := ShownName(m.UserID, m.DisplayName)
	key := lookalike.Key(shown)
	if key == "" {
		return nil
	}
	ownName := m.Entry != nil && lookalike.Key(m.Entry.Name) == key
	var flags []string
	if !ownName {
		if f := impersonation(m.UserID, shown, key, m.Others, g); f != "" {
			flags = append(flags, f)
		}
	}
	// Members first, then the directory; each person once, in user-ID order.
	seen := map[string]bool{m.UserID: true, g.BotUserID: true}
	alikes := lookAlikes(m.Others, key, seen, false)
	if !ownName {
		alikes = append(alikes, lookAlikes(m.StaffNames, key, seen, true)...)
	}
	for i, a := range alikes {
		if i == maxLookAlikes {
			flags = append(flags, fmt.Sprintf("⚠ …and %d more people's names look like %q.", len(alikes)-i, shown))
			break
		}
		flags = append(flags, a.flag(m.UserID, shown))
	}
	return flags
}

// lookAlikes lists the people in names whose name has this key, skipping
// and then marking those already seen.
func lookAlikes(names map[string]string, key string, seen map[string]bool, directory bool) []lookAlike {
	var out []lookAlike
	for uid, n := range names {
		if n = ShownName(uid, n); !seen[uid] && lookalike.Key(n) == key {
			out = append(out, lookAlike{uid, n, directory})
		}
	}
	slices.SortFunc(out, func(a, b lookAlike) int { return strings.Compare(a.userID, b.userID) })
	for _, a := range out {
		seen[a.userID] = true
	}
	return out
}

// lookAlike is someone whose name looks like the joiner's.
type lookAlike struct {
	userID, name string
	// directory: the name is their staff directory name, not what they show in the room.
	directory bool
}

func (a lookAlike) flag(userID, shown string) string {
	same := strings.EqualFold(strings.Join(strings.Fields(shown), " "), strings.Join(strings.Fields(a.name), " "))
	switch {
	case same && a.directory:
		return fmt.Sprintf("⚠ %s shows the name %q, which the staff directory gives to %s. Check who you are talking to.", userID, shown, a.userID)
	case a.directory:
		return fmt.Sprintf("⚠ %s shows the name %q, which looks like %q, the staff directory's name for %s. Check who you are talking to.", userID, shown, a.name, a.userID)
	case same:
		return fmt.Sprintf("⚠ %s uses the same name, %q, as %s. Check who you are talking to.", userID, shown, a.userID)
	}
	return fmt.Sprintf("⚠ %s shows the name %q, which looks like %q, the name %s shows here. Check who you are talking to.", userID, shown, a.name, a.userID)
}

// impersonation flags a name that claims to be the bot, or names a role,
// team or system account rather than a person.
func impersonation(userID, shown, key string, others map[string]string, g GateRules) string {
	words := lookalike.Words(shown)
	for _, r := range roleNames {
		if containsRun(words, r.words) || r.within && slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, r.words[0]) }) {
			return fmt.Sprintf("⚠ %s shows the name %q, which names a role, team or system account rather than a person. Check who you are talking to.", userID, shown)
		}
	}
	botNames := []string{lookalike.Key(localpart(g.BotUserID)), lookalike.Key(others[g.BotUserID])}
	if slices.Contains(botNames, key) || slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, botWord) }) {
		return fmt.Sprintf("⚠ %s shows the name %q, as if they were Caldicott, this room's policy bot. The bot is %s. Check who you are talking to.", userID, shown, g.BotUserID)
	}
	return ""
}

// botWord is the bot's name, folded: a word containing it claims to be the bot.
var botWord = lookalike.Key("caldicott")

// roleName is the name of a role, team or system account, folded.
type roleName struct {
	words []string
	// within: also inside a longer word ("SysAdmin", "NHSAdmin").
	within bool
}

// roleNames are checked before the bot's name, so "Caldicott Guardian" (a
// senior NHS role) reads as a role claim, not as the bot.
var roleNames = func() []roleName {
	out := []roleName{{lookalike.Words("admin"), true}}
	for _, phrase := range []string{
		"caldicott guardian", "nhs", "system", "sysop", "moderator", "helpdesk",
		"ig team", "ig officer", "ig lead", "information governance",
		"it support", "it team", "service desk", "security team", "server notices",
	} {
		out = append(out, roleName{lookalike.Words(phrase), false})
	}
	return out
}()

// containsRun reports whether run appears in words as consecutive words.
func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		if slices.Equal(words[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// ShownName is what a client shows for a member: their display name, or
// their localpart when they have none. It is the name to look up with
// store.StaffNamed for MemberCheck.StaffNames.
func ShownName(userID, displayName string) string {
	if s := strings.TrimSpace(displayName); s != "" {
		return s
	}
	return localpart(userID)
}

func localpart(userID string) string {
	l, _, _ := strings.Cut(strings.TrimPrefix(userID, "@"), ":")
	return l
}
