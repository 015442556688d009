package retention

import (
	"context"
	"encoding/json"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// MediaStore is Dendrite's media directory (media_api.base_path) on this
// host. Dendrite keeps a file's bytes once per content hash, shared by
// every URI uploaded with the same bytes (executor.MediaDir), and has no
// API to delete them. Caldicott learns a file's hash by downloading it.
type MediaStore struct {
	Base   string
	Server string
}

// filesOf lists the files on this server that an unencrypted message
// points to (the file and its thumbnail): the candidates for deletion once
// it has expired. In encrypted rooms the file is ciphertext whose key was
// only in the event, so redacting the event is enough; those are not
// listed (but they are indexed, so a plain message naming the same URI
// cannot take them).
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

// noteFiles queues the files of ours an expiring message points at, to
// be judged once it is gone.
func (r *Retention) noteFiles(ctx context.Context, roomID id.RoomID, evt *event.Event) error {
	files := r.media.filesOf(evt)
	cs := make([]store.MediaCandidate, len(files))
	for i, uri := range files {
		cs[i] = store.MediaCandidate{URI: uri.String(), RoomID: roomID.String(), EventID: evt.ID.String()}
	}
	return r.Store.AddMediaCandidates(ctx, cs)
}

// dropFiles forgets the queued files of a message that was not deleted.
func (r *Retention) dropFiles(ctx context.Context, evt *event.Event) {
	for _, uri := range r.media.filesOf(evt) {
		if err := r.Store.DropMediaCandidate(ctx, uri.String(), evt.ID.String()); err != nil {
			r.Log.Warn().Err(err).Str("media", uri.String()).Msg("Could not forget the file of a message that was kept")
		}
	}
}

// releaseBatch bounds the files judged after one sweep; the rest wait for
// the next.
const releaseBatch = 500

// redeliveryWait: after a start, Dendrite sends what it held back while
// Caldicott was away within its longest backoff (64 s,
// appservice/consumers/roomserver.go); files are judged only after it.
const redeliveryWait = 70 * time.Second

// intakeLag is how long a delivered event may wait to be handled before
// the intake counts as behind.
const intakeLag = 10 * time.Second

// releaseDue judges the queued files of deleted messages once the media
// index has counted every message the homeserver has (Caldicott has been
// up long enough for the homeserver to deliver what it held back, and the
// events it delivered have been handled): each is deleted through
// the executor when nothing that must be kept uses its bytes
// (policy.MediaFileFate), else kept. Either way it leaves the queue; a
// file that cannot be judged stays queued while the failure may pass
// (the homeserver unreachable), and is otherwise kept and logged.
func (r *Retention) releaseDue(ctx context.Context) {
	if r.media == nil {
		return
	}
	now := r.Now()
	if now.Sub(r.started) < redeliveryWait {
		return // the homeserver may still be sending what it held back
	}
	if caughtUp, err := r.Store.IntakeCaughtUp(ctx, now.Add(-intakeLag)); err != nil || !caughtUp {
		return // events still to index: judge after the next sweep
	}
	due, err := r.Store.DueMediaCandidates(ctx, now, releaseBatch)
	if err != nil {
		r.Log.Warn().Err(err).Msg("Could not read the files waiting to be judged")
		return
	}
	for _, c := range due {
		r.lanes.YieldToEnforcement(ctx)
		if ctx.Err() != nil {
			return
		}
		if err := r.releaseFile(ctx, c); err != nil {
			if ctx.Err() != nil {
				return
			}
			if retryable(err) {
				r.Log.Warn().Err(err).Str("media", c.URI).Str("event_id", c.EventID).Msg("Could not judge an expired message's file yet; trying again after the next sweep")
				continue
			}
			r.Log.Warn().Err(err).Str("media", c.URI).Str("event_id", c.EventID).Msg("Kept an expired message's file: it cannot be judged")
			r.kept("unjudgeable")
		}
		if err := r.Store.DropMediaCandidate(ctx, c.URI, c.EventID); err != nil {
			r.Log.Warn().Err(err).Str("media", c.URI).Msg("Could not take a judged file off the queue")
		}
	}
}

func (r *Retention) releaseFile(ctx context.Context, c store.MediaCandidate) error {
	uri, err := id.ParseContentURI(c.URI)
	if err != nil {
		return err
	}
	f, err := r.mediaFile(ctx, uri)
	if err != nil {
		return err
	}
	d, why := policy.MediaFileFate(r.Now(), f)
	if why != "" {
		r.Log.Debug().Str("media", c.URI).Str("kept_because", why).Int("references", len(f.Refs)).Msg("Kept an expired message's file")
		r.kept(why)
		return nil
	}
	ctx = executor.WithInput(ctx, "media:"+c.EventID)
	res, err := r.Exec.Execute(ctx, id.RoomID(c.RoomID), r.BotID.String(), d)
	if err != nil {
		return err
	}
	if len(res.Failures) == 0 && !res.DryRun {
		r.metrics.MediaDeleted.Inc()
		r.Log.Debug().Str("media", c.URI).Int("references", len(f.Refs)).Msg("Deleted an expired message's file")
	}
	return nil
}

func (r *Retention) kept(why string) {
	if r.metrics.MediaKept != nil {
		r.metrics.MediaKept.WithLabelValues(why).Inc()
	}
}
