package retention

import (
	"testing"

	"maunium.net/go/mautrix/event"
)

// Edits of a message awaiting the patient record are kept with it: the
// sweep must tell an edit, and only an edit, by its relation.
func TestEditedEvent(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"a plain message", `{"msgtype":"m.text","body":"hello"}`, ""},
		{"an edit", `{"msgtype":"m.text","body":"* hi","m.new_content":{"msgtype":"m.text","body":"hi"},"m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}`, "$orig"},
		{"an encrypted edit: the relation is in the clear", `{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgA","m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}`, "$orig"},
		{"a reply", `{"msgtype":"m.text","body":"ok","m.relates_to":{"m.in_reply_to":{"event_id":"$orig"}}}`, ""},
		{"a reaction", `{"m.relates_to":{"rel_type":"m.annotation","event_id":"$orig","key":"👍"}}`, ""},
		{"a thread reply", `{"msgtype":"m.text","body":"x","m.relates_to":{"rel_type":"m.thread","event_id":"$root"}}`, ""},
		{"relation of the wrong shape", `{"m.relates_to":"m.replace"}`, ""},
		{"no content", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &event.Event{Content: event.Content{VeryRaw: []byte(tt.content)}}
			if got := editedEvent(e); got != tt.want {
				t.Errorf("editedEvent = %q, want %q", got, tt.want)
			}
		})
	}
}
