package executor

import "testing"

func TestNoticeContent(t *testing.T) {
	c := noticeContent("Use `!policy help` <now>\n• line two `unpaired")
	if c.Body != "Use `!policy help` <now>\n• line two `unpaired" {
		t.Errorf("plain body changed: %q", c.Body)
	}
	want := "Use <code>!policy help</code> &lt;now&gt;<br/>• line two `unpaired"
	if c.FormattedBody != want || c.MsgType != "m.notice" || c.Format != "org.matrix.custom.html" {
		t.Errorf("formatted = %q", c.FormattedBody)
	}
}
