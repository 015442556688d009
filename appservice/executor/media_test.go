package executor

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Dendrite's layout: base/h[0]/h[1]/h[2:], h the unpadded URL-safe base64
// SHA-256 of the bytes (mediaapi/fileutils.GetPathFromBase64Hash); anything
// that is not such a hash is refused rather than joined into a path.
func TestMediaDirIsDendritesLayout(t *testing.T) {
	const h = "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ" // SHA-256 of "hello"
	sum := sha256.Sum256([]byte("hello"))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != h {
		t.Fatal("fixture hash is wrong")
	}
	dir, err := MediaDir("/var/dendrite/media", h)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/var/dendrite/media", "L", "P", h[2:]); dir != want {
		t.Fatalf("got %s, want %s", dir, want)
	}
	for _, bad := range []string{"", "ab", "../../etc", "a/b/c", "..abc", "not base64!"} {
		if dir, err := MediaDir("/var/dendrite/media", bad); err == nil {
			t.Errorf("%q accepted as a hash: %s", bad, dir)
		}
	}
}

// A DeleteMedia removes the bytes' directory (file and thumbnails), once
// per input; in a dry run it is audited and nothing is removed; a resumed
// one finds the directory gone and is done.
func TestDeleteMediaRemovesTheBytes(t *testing.T) {
	mk := func(t *testing.T, dryRun bool) (*Executor, *store.Store, string, policy.Decision) {
		e, st := offline(t, dryRun)
		e.cfg.MediaPath = t.TempDir()
		sum := sha256.Sum256([]byte(t.Name()))
		h := base64.RawURLEncoding.EncodeToString(sum[:])
		dir, _ := MediaDir(e.cfg.MediaPath, h)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"file", "thumbnail-32x32-crop"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		d, why := policy.MediaFileFate(now, policy.MediaFile{URI: "mxc://x/abc", Server: "x", OwnServer: "x", Hash: h,
			Refs: []policy.MediaRef{{URI: "mxc://x/abc", RoomID: "!r:x", EventID: "$e", Sent: now.Add(-time.Hour), Retention: policy.Retention{MaxLifetime: time.Minute}}}})
		if why != "" {
			t.Fatalf("kept: %s", why)
		}
		return e, st, dir, d
	}
	t.Run("deleted once", func(t *testing.T) {
		e, st, dir, d := mk(t, false)
		ctx := WithInput(context.Background(), "media:$e")
		for range 2 {
			if res, err := e.Execute(ctx, "!r:x", "@caldicott:x", d); err != nil || len(res.Failures) > 0 {
				t.Fatalf("delete: %+v %v", res, err)
			}
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("the bytes' directory is still there (%v)", err)
		}
		var audited []string
		_ = st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
			audited = append(audited, e.Action+" "+e.Detail)
			return nil
		})
		if len(audited) != 1 || !strings.HasPrefix(audited[0], "delete_media ") || !strings.Contains(audited[0], "mxc://x/abc") {
			t.Fatalf("audited %v", audited)
		}
		// Resumed after a crash between removing and recording: no error.
		if err := e.deleteMedia("mxc://x/abc", d.Actions[0].Hash); err != nil {
			t.Fatalf("resumed deletion: %v", err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		e, _, dir, d := mk(t, true)
		if _, err := e.Execute(WithInput(context.Background(), "media:$e"), "!r:x", "@caldicott:x", d); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "file")); err != nil {
			t.Fatalf("a dry run deleted the file: %v", err)
		}
	})
	t.Run("no media store configured", func(t *testing.T) {
		e, _, dir, d := mk(t, false)
		e.cfg.MediaPath = ""
		res, err := e.Execute(WithInput(context.Background(), "media:$e"), "!r:x", "@caldicott:x", d)
		if err != nil || len(res.Failures) != 1 {
			t.Fatalf("want one reported failure, got %+v %v", res, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "file")); err != nil {
			t.Fatalf("file gone: %v", err)
		}
	})
}
