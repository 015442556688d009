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
// sweep deleted, or is about to.
type MediaIndex interface {
	MediaDeletionsAfter(ctx context.Context, seq int64, limit int) ([]store.MediaDeletion, error)
	MediaHashOf(ctx context.Context, uri string) (string, error)
	// MediaAwaitingDeletion: every message pointing at the file was
	// deleted by the sweep, and its bytes wait for the next one.
	MediaAwaitingDeletion(ctx context.Context, uri string) (bool, error)
}

// maxRememberedDeletions bounds the deletions kept in memory. Older ones
// need no words from here: their bytes are gone from the media store (the
// audit entry is written once they are), so Dendrite answers 404 itself,
// and it never stores the same bytes again under an old URI.
const maxRememberedDeletions = 50000

// deletedMedia remembers the latest files the sweep deleted, by URI and by
// the hash of their bytes, read from the audit log a batch at a time: at
// most once per TTL, and only what is new since the last read.
type deletedMedia struct {
	index MediaIndex
	ttl   time.Duration
	// limit is maxRememberedDeletions (smaller in tests).
	limit int

	mu     sync.Mutex
	seq    int64
	fresh  bool
	uris   map[string]int
	hashes map[string]int
	// order is the remembered deletions, oldest first, to forget by.
	order []store.MediaDeletion
}

func newDeletedMedia(index MediaIndex, ttl time.Duration) *deletedMedia {
	return &deletedMedia{index: index, ttl: ttl, limit: maxRememberedDeletions, uris: map[string]int{}, hashes: map[string]int{}}
}

// mediaBatch bounds one read of the audit log's deletions.
const mediaBatch = 1000

// Deleted reports whether the file at uri was deleted under retention
// (itself, or bytes it shares with a deleted file), or is on its way:
// every message pointing at it deleted by the sweep, its bytes a sweep
// later (own is whether the file is this server's: only those are swept).
func (d *deletedMedia) Deleted(ctx context.Context, uri string, own bool) (bool, error) {
	gone, err := d.remembered(ctx, uri)
	if gone || err != nil || !own {
		return gone, err
	}
	return d.index.MediaAwaitingDeletion(ctx, uri)
}

func (d *deletedMedia) remembered(ctx context.Context, uri string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.catchUp(ctx); err != nil {
		return false, err
	}
	if d.uris[uri] > 0 {
		return true, nil
	}
	if len(d.hashes) == 0 {
		return false, nil
	}
	hash, err := d.index.MediaHashOf(ctx, uri)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && d.hashes[hash] > 0, err
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
			d.remember(m)
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

// remember adds a deletion, forgetting the oldest past the limit.
func (d *deletedMedia) remember(m store.MediaDeletion) {
	d.uris[m.URI]++
	if m.Hash != "" {
		d.hashes[m.Hash]++
	}
	d.order = append(d.order, m)
	for len(d.order) > d.limit {
		old := d.order[0]
		d.order[0] = store.MediaDeletion{}
		d.order = d.order[1:]
		forget(d.uris, old.URI)
		if old.Hash != "" {
			forget(d.hashes, old.Hash)
		}
	}
}

func forget(m map[string]int, k string) {
	if m[k]--; m[k] <= 0 {
		delete(m, k)
	}
}

// judgeMedia: GET of a file or its thumbnail (the old /_matrix/media and
// the authenticated /_matrix/client/v1/media paths). A file the retention
// sweep deleted, or whose every message it deleted (the bytes go a sweep
// later), is answered 404 in words a person understands; the rest
// stream through untouched. When the store cannot be read, this server's
// files are refused 503 (one whose messages were all deleted still has
// its bytes until the next sweep, so passing it would serve it), and
// other servers' pass (only their deletions remembered here could stop
// them, and their bytes are gone from the media store anyway).
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
	own := server == g.s.Rules.OwnServer
	deleted, err := g.media.Deleted(r.Context(), "mxc://"+server+"/"+mediaID, own)
	switch {
	case err != nil && own:
		g.log.Warn().Err(err).Msg("Could not read which files await deletion under retention; refusing the download")
		return &Refusal{Status: http.StatusServiceUnavailable, ErrCode: "M_UNKNOWN", Rule: ReasonStateUnknown,
			Reason: "I could not check whether this file was deleted under the room's retention period just now, so it was not sent. Try again in a minute; if it keeps failing, tell your IT team."}
	case err != nil:
		g.log.Warn().Err(err).Msg("Could not read which files were deleted under retention; passing another server's file")
		return nil
	}
	if !deleted {
		return nil
	}
	return &Refusal{Status: http.StatusNotFound, ErrCode: "M_NOT_FOUND", Reason: "This file was deleted under the room's retention period.", Rule: ReasonRetentionDeleted}
}
