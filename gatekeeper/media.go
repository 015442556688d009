package gatekeeper

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/caldicott/caldicott/store"
)

// ReasonRetentionDeleted: a download of a file the retention sweep deleted.
const ReasonRetentionDeleted = "retention_deleted"

// MediaIndex is the part of the store that says which files the retention
// sweep deleted.
type MediaIndex interface {
	MediaDeletionsAfter(ctx context.Context, seq int64, limit int) ([]store.MediaDeletion, error)
	MediaHashOf(ctx context.Context, uri string) (string, error)
}

// deletedMedia remembers the files the sweep deleted, by URI and by the
// hash of their bytes, read from the audit log a batch at a time: at most
// once per TTL, and only what is new since the last read.
type deletedMedia struct {
	index MediaIndex
	ttl   time.Duration

	mu     sync.Mutex
	seq    int64
	fresh  bool
	uris   map[string]bool
	hashes map[string]bool
}

// mediaBatch bounds one read of the audit log's deletions.
const mediaBatch = 1000

// Deleted reports whether the file at uri was deleted under retention:
// itself, or bytes it shares with a deleted file.
func (d *deletedMedia) Deleted(ctx context.Context, uri string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.catchUp(ctx); err != nil {
		return false, err
	}
	if d.uris[uri] {
		return true, nil
	}
	if len(d.hashes) == 0 {
		return false, nil
	}
	hash, err := d.index.MediaHashOf(ctx, uri)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && d.hashes[hash], err
}

// catchUp reads the deletions recorded since the last read, unless the
// last read is younger than the TTL. Called with mu held.
func (d *deletedMedia) catchUp(ctx context.Context) error {
	if d.fresh {
		return nil
	}
	for {
		batch, err := d.index.MediaDeletionsAfter(ctx, d.seq, mediaBatch)
		if err != nil {
			return err
		}
		for _, m := range batch {
			d.uris[m.URI] = true
			if m.Hash != "" {
				d.hashes[m.Hash] = true
			}
			d.seq = m.Seq
		}
		if len(batch) < mediaBatch {
			break
		}
	}
	d.fresh = true
	// The timer marks the list stale (no clock is read: the one clock of
	// the project stays the store's).
	time.AfterFunc(d.ttl, func() {
		d.mu.Lock()
		d.fresh = false
		d.mu.Unlock()
	})
	return nil
}

// judgeMedia: GET of a file or its thumbnail (the old /_matrix/media and
// the authenticated /_matrix/client/v1/media paths). A file the retention
// sweep deleted is answered 404 in words a person understands; the rest
// stream through untouched. When the store cannot be read, downloads pass
// (the file's bytes are gone from the media store anyway).
func (g *Gatekeeper) judgeMedia(_ http.ResponseWriter, r *http.Request) *Refusal {
	if g.media == nil {
		return nil
	}
	server := g.s.Rules.OwnServer // a federation fetch names no server: it is ours
	if s, _ := pathParam(r, "server"); s != "" {
		server = s
	}
	mediaID, f := pathParam(r, "mediaID")
	if f != nil {
		return f
	}
	deleted, err := g.media.Deleted(r.Context(), "mxc://"+server+"/"+mediaID)
	if err != nil {
		g.log.Warn().Err(err).Msg("Could not read which files were deleted under retention; passing the download")
		return nil
	}
	if !deleted {
		return nil
	}
	return &Refusal{Status: http.StatusNotFound, ErrCode: "M_NOT_FOUND", Reason: "This file was deleted under the room's retention period.", Rule: ReasonRetentionDeleted}
}
