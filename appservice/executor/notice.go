package executor

import (
	"html"
	"strings"

	"maunium.net/go/mautrix/event"
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
