package subjectaccess

import (
	"encoding/json"
	"net/url"
	"strings"

	"maunium.net/go/mautrix/id"
)

// Matching: a message is about the subject when they sent it, when its
// m.mentions names them, or when their user ID appears in it (body,
// formatted body — Element's mention pills link to the user ID — or any
// other field, such as an edit's new content). Display names are not
// matched: a name like "Sam" would pull other people's messages into the
// bundle, which is a disclosure of its own; an IG reviewer searches for
// names by hand where the request needs it.

// Reasons a message is in the bundle, as matched_by says.
const (
	MatchSender  = "sender"
	MatchMention = "mention"
	MatchText    = "text"
	MatchContent = "content"
)

// matchMessage says why a message is about user (nil: it is not).
func matchMessage(user id.UserID, sender id.UserID, content json.RawMessage) []string {
	var why []string
	if sender == user {
		why = append(why, MatchSender)
	}
	if len(content) == 0 {
		return why
	}
	var c struct {
		Body          string `json:"body"`
		FormattedBody string `json:"formatted_body"`
		Mentions      *struct {
			UserIDs []id.UserID `json:"user_ids"`
		} `json:"m.mentions"`
	}
	_ = json.Unmarshal(content, &c)
	if c.Mentions != nil {
		for _, u := range c.Mentions.UserIDs {
			if u == user {
				why = append(why, MatchMention)
				break
			}
		}
	}
	switch {
	case mentionsUser(c.Body, user) || mentionsUser(c.FormattedBody, user):
		why = append(why, MatchText)
	case len(why) == 0 && mentionsUser(string(content), user):
		why = append(why, MatchContent)
	}
	return why
}

// mentionsUser reports whether text contains the user ID as a whole ID
// (@bob:trust-a is not found in @bob:trust-a.nhs.uk), written plainly or
// URL-escaped as in a matrix.to link.
func mentionsUser(text string, user id.UserID) bool {
	for _, form := range []string{user.String(), url.PathEscape(user.String()), strings.Replace(user.String(), "@", "%40", 1)} {
		for rest := text; ; {
			i := strings.Index(rest, form)
			if i < 0 {
				break
			}
			if !continuesServerName(rest[i+len(form):]) {
				return true
			}
			rest = rest[i+1:]
		}
	}
	return false
}

// continuesServerName reports whether after (what follows a user ID in a
// text) carries on its server name, making it another, longer ID. A full
// stop, colon or hyphen that ends a sentence or clause does not.
func continuesServerName(after string) bool {
	if after == "" {
		return false
	}
	switch c := after[0]; {
	case isAlnum(c):
		return true
	case c == '.' || c == '-':
		return len(after) > 1 && isAlnum(after[1])
	case c == ':':
		return len(after) > 1 && after[1] >= '0' && after[1] <= '9'
	}
	return false
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
