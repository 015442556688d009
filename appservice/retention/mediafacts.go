package retention

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// sameBytesLimit bounds how many not yet hashed URIs one judgement
// downloads to find those with the file's bytes; beyond it the file waits
// for the next sweep, whose judgement goes on where this one stopped (each
// URI is hashed once).
const sameBytesLimit = 100

// clockSlack allows for the homeserver's event times and the media
// store's file times being read from different clocks.
const clockSlack = time.Minute

// mediaFile gathers what the rule needs about a file: its bytes' hash,
// whether something the index never saw may use them, and every known
// reference to every URI with the same bytes, with what each room says.
func (r *Retention) mediaFile(ctx context.Context, uri id.ContentURI) (policy.MediaFile, error) {
	f := policy.MediaFile{URI: uri.String(), Server: uri.Homeserver, OwnServer: r.media.Server}
	if f.Server != f.OwnServer {
		return f, nil
	}
	hash, stored, err := r.hashOf(ctx, uri)
	if err != nil {
		return f, err
	}
	f.Hash = hash
	begun, err := r.Store.MediaIndexBegun(ctx)
	if err != nil {
		return f, err
	}
	// Bytes first stored before the index began may be used by messages it
	// never saw (sent before Caldicott, in rooms it has not swept).
	f.Unsure = stored.Before(begun)
	uris, unsure, err := r.sameBytes(ctx, hash, stored.Add(-clockSlack))
	if err != nil {
		return f, err
	}
	f.Unsure = f.Unsure || unsure
	refs, err := r.Store.MediaRefsOf(ctx, uris)
	if err != nil {
		return f, err
	}
	f.Refs, err = r.judgeRefs(ctx, refs)
	return f, err
}

// errNotInStore: the homeserver serves a file the media store does not
// hold here (a misconfigured media path): judging it again will not help.
var errNotInStore = errors.New("file not in the media store")

// retryable says whether judging a file may succeed later (the homeserver
// or the database unreachable, the homeserver busy); a file the
// homeserver refuses or the media store lacks is kept for good.
func retryable(err error) bool {
	var he mautrix.HTTPError
	if errors.As(err, &he) && he.Response != nil {
		return he.Response.StatusCode >= http.StatusInternalServerError || he.Response.StatusCode == http.StatusTooManyRequests
	}
	return !errors.Is(err, errNotInStore)
}

// hashOf downloads a file (as the bot, streaming) to learn its bytes'
// hash, records it, and reads when the media store first stored them.
func (r *Retention) hashOf(ctx context.Context, uri id.ContentURI) (string, time.Time, error) {
	hash, err := r.download(ctx, uri)
	if err != nil {
		return "", time.Time{}, err
	}
	dir, err := executor.MediaDir(r.media.Base, hash)
	if err != nil {
		return "", time.Time{}, err
	}
	fi, err := os.Stat(filepath.Join(dir, "file"))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %s is not in %s (is retention.media_path Dendrite's media_api.base_path?): %w", errNotInStore, uri, r.media.Base, err)
	}
	return hash, fi.ModTime(), nil
}

// download hashes a file's bytes and records the hash in the index.
func (r *Retention) download(ctx context.Context, uri id.ContentURI) (string, error) {
	resp, err := r.Bot.Download(ctx, uri)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", uri, err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return "", fmt.Errorf("read %s: %w", uri, err)
	}
	hash := base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	if err := r.Store.SetMediaHash(ctx, uri.String(), hash); err != nil {
		return "", err
	}
	return hash, nil
}

// goneHash marks a URI whose bytes the homeserver no longer has (or never
// had): it shares bytes with nothing, and is not downloaded again.
const goneHash = "-"

// errMoreToHash: URIs that may share the file's bytes are still to be
// hashed (more than one judgement downloads, or the homeserver failed):
// the file is judged again after the next sweep.
var errMoreToHash = errors.New("other files may have the same bytes; hashing them goes on after the next sweep")

// sameBytes lists the indexed URIs with these bytes. URIs pointed at since
// the bytes were first stored whose hash is not yet known are downloaded
// and hashed first. unsure: one of them could not be read, for a reason
// that will not pass (then nobody can tell whether it shares the bytes).
func (r *Retention) sameBytes(ctx context.Context, hash string, since time.Time) (uris []string, unsure bool, err error) {
	prefix := "mxc://" + r.media.Server + "/"
	unhashed, err := r.Store.UnhashedMedia(ctx, prefix, since, sameBytesLimit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(unhashed) > sameBytesLimit
	for _, raw := range unhashed[:min(len(unhashed), sameBytesLimit)] {
		uri, err := id.ParseContentURI(raw)
		if err != nil {
			unsure = true // stored as indexed, yet unreadable here: keep
			continue
		}
		_, err = r.download(ctx, uri)
		switch {
		case err == nil:
		case errors.Is(err, mautrix.MNotFound):
			if err := r.Store.SetMediaHash(ctx, raw, goneHash); err != nil {
				return nil, false, err
			}
		case ctx.Err() != nil:
			return nil, false, ctx.Err()
		case retryable(err):
			more = true
		default:
			unsure = true
		}
	}
	if more {
		return nil, false, errMoreToHash
	}
	uris, err = r.Store.MediaWithHash(ctx, hash)
	return uris, unsure, err
}

// judgeRefs adds to each reference what its room says now: its retention
// (none when the bot is no longer in it: nothing there is swept), its
// legal hold, and whether its message awaits the patient record.
func (r *Retention) judgeRefs(ctx context.Context, refs []store.MediaRef) ([]policy.MediaRef, error) {
	type roomSays struct {
		ret  policy.Retention
		held bool
	}
	rooms := map[string]roomSays{}
	out := make([]policy.MediaRef, 0, len(refs))
	for _, ref := range refs {
		says, ok := rooms[ref.RoomID]
		if !ok {
			if f, err := r.Facts.Room(ctx, id.RoomID(ref.RoomID)); err == nil {
				says.ret = policy.EffectiveRetention(f.Class, f.Retention, r.RetentionRules())
			} else if !errors.Is(err, mautrix.MForbidden) && !errors.Is(err, mautrix.MNotFound) {
				return nil, fmt.Errorf("read room %s for a file's references: %w", ref.RoomID, err)
			}
			_, err := r.Store.LegalHoldOf(ctx, ref.RoomID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			says.held = err == nil
			rooms[ref.RoomID] = says
		}
		out = append(out, policy.MediaRef{
			URI: ref.URI, RoomID: ref.RoomID, EventID: ref.EventID, Avatar: ref.Avatar, Sent: ref.Sent,
			Retention: says.ret, Held: says.held,
			AwaitsRecord: r.Keep != nil && r.Keep(ref.RoomID, ref.EventID),
		})
	}
	return out, nil
}
