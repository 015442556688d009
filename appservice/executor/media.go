package executor

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MediaDir is where Dendrite keeps the bytes with this content hash (the
// unpadded URL-safe base64 SHA-256): base/h[0]/h[1]/h[2:], the file and its
// thumbnails together (mediaapi/fileutils.GetPathFromBase64Hash). Every
// URI uploaded with the same bytes shares it.
func MediaDir(base, hash string) (string, error) {
	if len(hash) < 3 || strings.ContainsAny(hash, `/\.`) {
		return "", fmt.Errorf("%q is not a content hash", hash)
	}
	if _, err := base64.RawURLEncoding.DecodeString(hash); err != nil {
		return "", fmt.Errorf("%q is not a content hash: %w", hash, err)
	}
	dir := filepath.Join(base, hash[0:1], hash[1:2], hash[2:])
	if !strings.HasPrefix(dir, filepath.Clean(base)+string(filepath.Separator)) {
		return "", fmt.Errorf("media path %q escapes %q", dir, base)
	}
	return dir, nil
}

// deleteMedia removes a file's bytes from Dendrite's media store (which has
// no API for it; Caldicott runs beside it with retention.media_path). The
// rule decided it knowing every reference to these bytes. Removing what is
// already gone is no error, so a resumed deletion needs no check.
func (e *Executor) deleteMedia(uri, hash string) error {
	if e.cfg.MediaPath == "" {
		return fmt.Errorf("no media store is configured (retention.media_path)")
	}
	dir, err := MediaDir(e.cfg.MediaPath, hash)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete %s from the media store: %w", uri, err)
	}
	return nil
}
