package executor

import (
	"html"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// noticeContent turns the rules' plain text (lines, "• " bullets, `code`)
// into an m.notice with an HTML body Element renders and a plain fallback.
func noticeContent(text string) *event.MessageEventContent {
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteString("<br/>")
		}
		parts := strings.Split(html.EscapeString(line), "`")
		for j, p := range parts {
			// Odd segments were between backticks; an unpaired one stays literal.
			if j%2 == 1 && j < len(parts)-1 {
				b.WriteString("<code>" + p + "</code>")
			} else {
				if j%2 == 1 {
					b.WriteString("`")
				}
				b.WriteString(p)
			}
		}
	}
	return &event.MessageEventContent{
		MsgType:       event.MsgNotice,
		Body:          text,
		Format:        event.FormatHTML,
		FormattedBody: b.String(),
	}
}

// calling makes a notice call on people: m.mentions names them, and it is
// sent as a message, since a notice never notifies anyone (the default
// push rule .m.rule.suppress_notices comes before every mention rule).
func calling(content *event.MessageEventContent, users []string) *event.MessageEventContent {
	if len(users) == 0 {
		return content
	}
	content.MsgType = event.MsgText
	content.Mentions = &event.Mentions{}
	for _, u := range users {
		content.Mentions.Add(id.UserID(u))
	}
	return content
}
