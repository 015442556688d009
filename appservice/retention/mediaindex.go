package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/store"
)

// IndexFiles notes the files an event points at in the media index, so a
// file is deleted only when nothing that must be kept uses it. Every room
// the bot is in feeds it as events arrive (decrypted ones too), and the
// sweep as it reads history, so messages from before Caldicott in swept
// rooms are found as well.
func (r *Retention) IndexFiles(ctx context.Context, evt *event.Event) error {
	refs := FileRefs(evt)
	if len(refs) == 0 {
		return nil
	}
	if err := r.Store.AddMediaRefs(ctx, refs); err != nil {
		return fmt.Errorf("index the files of %s: %w", evt.ID, err)
	}
	return nil
}

// fileContent is every place an event's content names a file: a message's
// or sticker's file (plain or encrypted) and thumbnail, an edit's new
// content, a room's avatar, a member's profile picture.
type fileContent struct {
	URL       string    `json:"url"`
	File      *fileRef  `json:"file"`
	AvatarURL string    `json:"avatar_url"`
	Info      *fileInfo `json:"info"`
	// NewContent is what an edit replaces the message with.
	NewContent *fileContent `json:"m.new_content"`
}

type fileRef struct {
	URL string `json:"url"`
}

type fileInfo struct {
	ThumbnailURL  string   `json:"thumbnail_url"`
	ThumbnailFile *fileRef `json:"thumbnail_file"`
}

func (c *fileContent) uris() []string {
	if c == nil {
		return nil
	}
	out := []string{c.URL, c.AvatarURL}
	if c.File != nil {
		out = append(out, c.File.URL)
	}
	if c.Info != nil {
		out = append(out, c.Info.ThumbnailURL)
		if c.Info.ThumbnailFile != nil {
			out = append(out, c.Info.ThumbnailFile.URL)
		}
	}
	return append(out, c.NewContent.uris()...)
}

// FileRefs lists the references an event makes to files, on any server:
// messages and stickers as messages (they expire with their room), room
// avatars and members' profile pictures as avatars (kept for good).
func FileRefs(evt *event.Event) []store.MediaRef {
	if evt == nil || len(evt.Content.VeryRaw) == 0 {
		return nil
	}
	avatar := false
	switch evt.Type.Type {
	case event.EventMessage.Type, event.EventSticker.Type:
	case event.StateRoomAvatar.Type, event.StateMember.Type:
		avatar = true
	default:
		return nil
	}
	var c fileContent
	if err := json.Unmarshal(evt.Content.VeryRaw, &c); err != nil {
		return nil
	}
	var sent time.Time
	if evt.Timestamp > 0 {
		sent = time.UnixMilli(evt.Timestamp)
	}
	seen := map[string]bool{}
	var out []store.MediaRef
	for _, raw := range c.uris() {
		uri, err := id.ParseContentURI(raw)
		if err != nil || uri.FileID == "" || seen[uri.String()] {
			continue
		}
		seen[uri.String()] = true
		out = append(out, store.MediaRef{URI: uri.String(), RoomID: evt.RoomID.String(), EventID: evt.ID.String(), Avatar: avatar, Sent: sent})
	}
	return out
}
