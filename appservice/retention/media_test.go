package retention

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

func TestMediaFilesOfAnExpiredMessage(t *testing.T) {
	m := &MediaStore{Base: "/var/dendrite/media", Server: "trust-a.example"}
	mk := func(typ event.Type, content map[string]any) *event.Event {
		raw, _ := json.Marshal(content)
		e := &event.Event{Type: typ}
		if err := json.Unmarshal(raw, &e.Content); err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		name string
		evt  *event.Event
		want []string
	}{
		{"an image and its thumbnail on our server", mk(event.EventMessage, map[string]any{"msgtype": "m.image", "url": "mxc://trust-a.example/abc", "info": map[string]any{"thumbnail_url": "mxc://trust-a.example/thumb"}}),
			[]string{"mxc://trust-a.example/abc", "mxc://trust-a.example/thumb"}},
		{"a file on another server is not ours to delete", mk(event.EventMessage, map[string]any{"msgtype": "m.file", "url": "mxc://trust-b.example/abc"}), nil},
		{"an encrypted file: the key goes with the event", mk(event.EventMessage, map[string]any{"msgtype": "m.file", "file": map[string]any{"url": "mxc://trust-a.example/enc"}}), nil},
		{"an encrypted event", mk(event.EventEncrypted, map[string]any{"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"}), nil},
		{"a text message", mk(event.EventMessage, map[string]any{"msgtype": "m.text", "body": "hello"}), nil},
		{"a malformed URL", mk(event.EventMessage, map[string]any{"msgtype": "m.image", "url": "https://trust-a.example/abc"}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.filesOf(tc.evt)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].String() != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if (*MediaStore)(nil).filesOf(tests[0].evt) != nil {
		t.Fatal("no media store configured, yet files listed")
	}
}

// What the media index learns from each kind of event: every place a
// file is named, on any server, messages expiring with their room and
// avatars kept for good.
func TestFileRefs(t *testing.T) {
	const at = 1_780_000_000_000
	mk := func(typ event.Type, content map[string]any) *event.Event {
		raw, _ := json.Marshal(content)
		e := &event.Event{Type: typ, RoomID: "!r:a", ID: "$e", Timestamp: at}
		if err := json.Unmarshal(raw, &e.Content); err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		name string
		evt  *event.Event
		want string // uri/avatar, space separated
	}{
		{"an image with its thumbnail", mk(event.EventMessage, map[string]any{"msgtype": "m.image", "url": "mxc://a/img", "info": map[string]any{"thumbnail_url": "mxc://a/th"}}), "mxc://a/img/false mxc://a/th/false"},
		{"an encrypted file and thumbnail", mk(event.EventMessage, map[string]any{"msgtype": "m.video", "file": map[string]any{"url": "mxc://a/enc"}, "info": map[string]any{"thumbnail_file": map[string]any{"url": "mxc://a/encth"}}}), "mxc://a/enc/false mxc://a/encth/false"},
		{"another server's file is indexed too", mk(event.EventMessage, map[string]any{"msgtype": "m.audio", "url": "mxc://b/snd"}), "mxc://b/snd/false"},
		{"a sticker", mk(event.EventSticker, map[string]any{"url": "mxc://a/st"}), "mxc://a/st/false"},
		{"an edit that replaces the file", mk(event.EventMessage, map[string]any{"msgtype": "m.file", "url": "mxc://a/old", "m.new_content": map[string]any{"msgtype": "m.file", "url": "mxc://a/new"}}), "mxc://a/old/false mxc://a/new/false"},
		{"the same URI twice counts once", mk(event.EventMessage, map[string]any{"msgtype": "m.image", "url": "mxc://a/img", "info": map[string]any{"thumbnail_url": "mxc://a/img"}}), "mxc://a/img/false"},
		{"a room avatar", mk(event.StateRoomAvatar, map[string]any{"url": "mxc://a/av"}), "mxc://a/av/true"},
		{"a member's profile picture", mk(event.StateMember, map[string]any{"membership": "join", "avatar_url": "mxc://a/me"}), "mxc://a/me/true"},
		{"a text message", mk(event.EventMessage, map[string]any{"msgtype": "m.text", "body": "hello"}), ""},
		{"a malformed URL", mk(event.EventMessage, map[string]any{"msgtype": "m.image", "url": "https://a/img"}), ""},
		{"a URL in another event type", mk(event.StateTopic, map[string]any{"url": "mxc://a/x"}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for i, r := range FileRefs(tc.evt) {
				if r.RoomID != "!r:a" || r.EventID != "$e" || !r.Sent.Equal(time.UnixMilli(at)) {
					t.Fatalf("reference %+v", r)
				}
				if i > 0 {
					got += " "
				}
				got += fmt.Sprintf("%s/%v", r.URI, r.Avatar)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if FileRefs(nil) != nil {
		t.Fatal("a nil event has references")
	}
}
