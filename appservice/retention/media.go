package retention

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// MediaStore is Dendrite's media directory (media_api.base_path) on this
// host. Dendrite keeps a file at base/h[0]/h[1]/h[2:]/file, where h is the
// unpadded URL-safe base64 SHA-256 of its bytes, with its thumbnails beside
// it; it has no API to delete one. Caldicott finds a file's directory by
// downloading it and hashing what it gets.
type MediaStore struct {
	Base   string
	Server string
}

// filesOf lists the files on this server that an unencrypted message
// points to (the file and its thumbnail). In encrypted rooms the file is
// ciphertext whose key was only in the event, so redacting the event is
// enough; those are not listed.
func (m *MediaStore) filesOf(evt *event.Event) []id.ContentURI {
	if m == nil || evt == nil || evt.Type != event.EventMessage && evt.Type != event.EventSticker {
		return nil
	}
	var content struct {
		URL  string `json:"url"`
		Info struct {
			ThumbnailURL string `json:"thumbnail_url"`
		} `json:"info"`
	}
	if err := json.Unmarshal(evt.Content.VeryRaw, &content); err != nil {
		return nil
	}
	var out []id.ContentURI
	for _, raw := range []string{content.URL, content.Info.ThumbnailURL} {
		uri, err := id.ParseContentURI(raw)
		if err == nil && uri.Homeserver == m.Server && uri.FileID != "" {
			out = append(out, uri)
		}
	}
	return out
}

// dirFor is where Dendrite keeps the file with these bytes' hash.
func (m *MediaStore) dirFor(sum [32]byte) (string, error) {
	h := base64.RawURLEncoding.EncodeToString(sum[:])
	dir := filepath.Join(m.Base, h[0:1], h[1:2], h[2:])
	if !strings.HasPrefix(dir, filepath.Clean(m.Base)+string(filepath.Separator)) {
		return "", fmt.Errorf("media path %q escapes %q", dir, m.Base)
	}
	return dir, nil
}

// deleteFiles removes expired messages' files from Dendrite's media store.
// A file that cannot be found or removed is logged, never fatal: the
// message itself is already gone.
func (r *Retention) deleteFiles(ctx context.Context, files []id.ContentURI) {
	for _, uri := range files {
		dir, err := r.mediaDir(ctx, uri)
		if err != nil {
			r.Log.Warn().Err(err).Str("media", uri.String()).Msg("Could not find an expired message's file in the media store")
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			r.Log.Warn().Err(err).Str("media", uri.String()).Msg("Could not delete an expired message's file")
			continue
		}
		r.metrics.MediaDeleted.Inc()
		r.Log.Debug().Str("media", uri.String()).Msg("Deleted an expired message's file")
	}
}

// mediaDir downloads a file (as the bot, streaming) to learn its hash,
// and so the directory Dendrite keeps it in.
func (r *Retention) mediaDir(ctx context.Context, uri id.ContentURI) (string, error) {
	resp, err := r.Bot.Download(ctx, uri)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return "", fmt.Errorf("read %s: %w", uri, err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	dir, err := r.media.dirFor(sum)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "file")); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s is not in %s (is retention.media_path Dendrite's media_api.base_path?)", uri, r.media.Base)
	}
	return dir, nil
}
