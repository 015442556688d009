package retention

import (
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"testing"

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

// Dendrite's layout: base/h[0]/h[1]/h[2:], h the unpadded URL-safe base64
// SHA-256 of the bytes (mediaapi/fileutils.GetPathFromBase64Hash).
func TestMediaDirIsDendritesLayout(t *testing.T) {
	m := &MediaStore{Base: "/var/dendrite/media"}
	sum := sha256.Sum256([]byte("hello"))
	// base64url("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ") without padding
	const h = "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ"
	dir, err := m.dirFor(sum)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/var/dendrite/media", "L", "P", h[2:]); dir != want {
		t.Fatalf("got %s, want %s", dir, want)
	}
}
