package policy

import (
	"testing"
	"time"
)

func TestMediaFileFate(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day := Retention{MaxLifetime: 24 * time.Hour}
	expired := func(room, evt string) MediaRef {
		return MediaRef{URI: "mxc://a.example/x", RoomID: room, EventID: evt, Sent: now.Add(-48 * time.Hour), Retention: day}
	}
	with := func(r MediaRef, f func(*MediaRef)) MediaRef { f(&r); return r }
	file := func(refs ...MediaRef) MediaFile {
		return MediaFile{URI: "mxc://a.example/x", Server: "a.example", OwnServer: "a.example", Hash: "h", Refs: refs}
	}
	tests := []struct {
		name string
		file MediaFile
		keep string // "" : deleted
	}{
		{"only expired messages point at it: deleted", file(expired("!social", "$1"), expired("!other", "$2")), ""},
		{"two rooms share it, one on legal hold", file(expired("!social", "$1"), with(expired("!held", "$2"), func(r *MediaRef) { r.Held = true })), MediaHeld},
		{"the same bytes uploaded twice, one message not yet expired",
			file(expired("!social", "$1"), with(expired("!clinical", "$2"), func(r *MediaRef) { r.URI, r.Sent = "mxc://a.example/y", now.Add(-time.Hour) })), MediaNotYetExpired},
		{"a room's avatar", file(expired("!social", "$1"), with(expired("!social", "$av"), func(r *MediaRef) { r.Avatar = true })), MediaAvatar},
		{"a message waiting for the patient record", file(with(expired("!clinical", "$1"), func(r *MediaRef) { r.AwaitsRecord = true })), MediaAwaitsRecord},
		{"a room that keeps its messages (unclassified, or no longer swept)", file(expired("!social", "$1"), with(expired("!unswept", "$2"), func(r *MediaRef) { r.Retention = Retention{} })), MediaKeptForGood},
		{"the minimum lifetime outlasts the maximum",
			file(with(expired("!social", "$1"), func(r *MediaRef) { r.Retention = Retention{MaxLifetime: time.Hour, MinLifetime: 72 * time.Hour} })), MediaNotYetExpired},
		{"a reference whose send time is unknown", file(with(expired("!social", "$1"), func(r *MediaRef) { r.Sent = time.Time{} })), MediaNotYetExpired},
		{"another server's file", func() MediaFile { f := file(expired("!social", "$1")); f.Server = "b.example"; return f }(), MediaNotOurs},
		{"no server at all", func() MediaFile { f := file(expired("!social", "$1")); f.Server = ""; return f }(), MediaNotOurs},
		{"its bytes could not be read", func() MediaFile { f := file(expired("!social", "$1")); f.Hash = ""; return f }(), MediaUnreadable},
		{"stored before the index began: unseen messages may use it", func() MediaFile { f := file(expired("!social", "$1")); f.Unsure = true; return f }(), MediaUnsure},
		{"nothing known points at it", file(), MediaUnreferenced},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, why := MediaFileFate(now, tc.file)
			if why != tc.keep {
				t.Fatalf("kept for %q, want %q", why, tc.keep)
			}
			if tc.keep != "" {
				if len(d.Actions) != 0 {
					t.Fatalf("kept, yet actions %+v", d.Actions)
				}
				return
			}
			if len(d.Actions) != 1 || d.Actions[0].Kind != DeleteMedia || d.Actions[0].Hash != "h" || d.Actions[0].Target != tc.file.URI || d.Actions[0].Rule != RuleMediaDeletion {
				t.Fatalf("want one deletion of the file's bytes, got %+v", d.Actions)
			}
		})
	}
}

func BenchmarkMediaFileFate(b *testing.B) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f := MediaFile{URI: "mxc://a.example/x", Server: "a.example", OwnServer: "a.example", Hash: "h"}
	for i := range 20 {
		f.Refs = append(f.Refs, MediaRef{URI: "mxc://a.example/x", RoomID: "!r", EventID: string(rune('a' + i)), Sent: now.Add(-48 * time.Hour), Retention: Retention{MaxLifetime: time.Hour}})
	}
	for b.Loop() {
		MediaFileFate(now, f)
	}
}
