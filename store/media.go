package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MediaRef is one reference in the media index: a message or an avatar
// in a room pointing at an mxc:// URI.
type MediaRef struct {
	URI, RoomID, EventID string
	Avatar               bool
	Sent                 time.Time
}

// AddMediaRefs records references; one already known is left as it is.
func (s *Store) AddMediaRefs(ctx context.Context, refs []MediaRef) error {
	if len(refs) == 0 {
		return nil
	}
	return s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for _, r := range refs {
			avatar := 0
			if r.Avatar {
				avatar = 1
			}
			if _, err := s.db.Exec(ctx, `INSERT INTO media_ref (uri, room_id, event_id, avatar, sent_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (uri, room_id, event_id) DO NOTHING`, r.URI, r.RoomID, r.EventID, avatar, timeMs(r.Sent)); err != nil {
				return fmt.Errorf("index media reference of %s: %w", r.EventID, err)
			}
		}
		return nil
	})
}

// MediaRefsOf lists every reference to any of the URIs.
func (s *Store) MediaRefsOf(ctx context.Context, uris []string) ([]MediaRef, error) {
	if len(uris) == 0 {
		return nil, nil
	}
	marks := make([]string, len(uris))
	args := make([]any, len(uris))
	for i, u := range uris {
		marks[i], args[i] = "$"+strconv.Itoa(i+1), u
	}
	rows, err := s.db.Query(ctx, `SELECT uri, room_id, event_id, avatar, sent_at FROM media_ref WHERE uri IN (`+strings.Join(marks, ", ")+`) ORDER BY uri, room_id, event_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read media references: %w", err)
	}
	defer rows.Close()
	var out []MediaRef
	for rows.Next() {
		var r MediaRef
		var avatar, sent int64
		if err := rows.Scan(&r.URI, &r.RoomID, &r.EventID, &avatar, &sent); err != nil {
			return nil, fmt.Errorf("read media references: %w", err)
		}
		r.Avatar, r.Sent = avatar != 0, msTime(sent)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetMediaHash records the content hash of a URI's bytes.
func (s *Store) SetMediaHash(ctx context.Context, uri, hash string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO media_hash (uri, hash) VALUES ($1, $2) ON CONFLICT (uri) DO UPDATE SET hash = excluded.hash`, uri, hash)
	if err != nil {
		return fmt.Errorf("record content hash of %s: %w", uri, err)
	}
	return nil
}

// MediaWithHash lists the URIs known to have these bytes.
func (s *Store) MediaWithHash(ctx context.Context, hash string) ([]string, error) {
	return s.queryStrings(ctx, "read media index", `SELECT uri FROM media_hash WHERE hash = $1 ORDER BY uri`, hash)
}

// UnhashedMedia lists indexed URIs under prefix (a server's "mxc://name/")
// whose bytes were never hashed and that something pointed at on or after
// since — those that may share bytes first stored at since — at most limit.
func (s *Store) UnhashedMedia(ctx context.Context, prefix string, since time.Time, limit int) ([]string, error) {
	return s.queryStrings(ctx, "read media index", `SELECT r.uri FROM media_ref r LEFT JOIN media_hash h ON h.uri = r.uri
		WHERE h.uri IS NULL AND substr(r.uri, 1, $1) = $2
		GROUP BY r.uri HAVING MAX(r.sent_at) >= $3 ORDER BY r.uri LIMIT $4`, len(prefix), prefix, since.UnixMilli(), limit)
}

// mediaIndexBegunKey names when the media index began: files first stored
// before then may be used by messages it never saw.
const mediaIndexBegunKey = "media_index_begun"

// MediaIndexBegun returns when the media index began, marking now (the
// store's clock) the first time it is asked.
func (s *Store) MediaIndexBegun(ctx context.Context) (time.Time, error) {
	if _, err := s.db.Exec(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		mediaIndexBegunKey, strconv.FormatInt(s.now().UnixMilli(), 10)); err != nil {
		return time.Time{}, fmt.Errorf("mark the media index's start: %w", err)
	}
	v, _, err := s.KV(ctx, mediaIndexBegunKey)
	if err != nil {
		return time.Time{}, err
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, dbFailure(fmt.Errorf("read the media index's start %q: %w", v, err))
	}
	return time.UnixMilli(ms), nil
}

// MediaCandidate is a file of a message the sweep deleted, waiting to be
// judged.
type MediaCandidate struct {
	URI, RoomID, EventID string
	Noted                time.Time
}

// AddMediaCandidates queues files to judge, noted now (the store's clock).
func (s *Store) AddMediaCandidates(ctx context.Context, cs []MediaCandidate) error {
	if len(cs) == 0 {
		return nil
	}
	return s.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		for _, c := range cs {
			if _, err := s.db.Exec(ctx, `INSERT INTO media_candidate (uri, room_id, event_id, noted_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (uri, event_id) DO NOTHING`, c.URI, c.RoomID, c.EventID, s.now().UnixMilli()); err != nil {
				return fmt.Errorf("queue the file of %s: %w", c.EventID, err)
			}
		}
		return nil
	})
}

// DueMediaCandidates lists files noted before a time, oldest first.
func (s *Store) DueMediaCandidates(ctx context.Context, before time.Time, limit int) ([]MediaCandidate, error) {
	rows, err := s.db.Query(ctx, `SELECT uri, room_id, event_id, noted_at FROM media_candidate WHERE noted_at < $1 ORDER BY noted_at, uri LIMIT $2`, before.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("read files to judge: %w", err)
	}
	defer rows.Close()
	var out []MediaCandidate
	for rows.Next() {
		var c MediaCandidate
		var noted int64
		if err := rows.Scan(&c.URI, &c.RoomID, &c.EventID, &noted); err != nil {
			return nil, fmt.Errorf("read files to judge: %w", err)
		}
		c.Noted = time.UnixMilli(noted)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DropMediaCandidate removes a judged file from the queue.
func (s *Store) DropMediaCandidate(ctx context.Context, uri, eventID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM media_candidate WHERE uri = $1 AND event_id = $2`, uri, eventID); err != nil {
		return fmt.Errorf("drop judged file of %s: %w", eventID, err)
	}
	return nil
}

// IntakeCaughtUp reports whether every event received before a time has
// been handled (so its files are in the media index).
func (s *Store) IntakeCaughtUp(ctx context.Context, before time.Time) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM inbox WHERE done_at IS NULL AND received_at < $1`, before.UnixMilli()).Scan(&n); err != nil {
		return false, fmt.Errorf("read the inbox: %w", err)
	}
	return n == 0, nil
}

// MediaAwaitingDeletion reports whether the file at uri is on its way out
// under retention: the media index knows at least one reference to it, and
// every one is a message the sweep deleted whose file waits to be judged
// (media_candidate) — none an avatar, none in a room on legal hold, none
// awaiting the patient record, none sent before the index began (something
// it never saw may use the file then). Its messages are gone; its bytes go
// a sweep later, unless another URI with the same bytes keeps them, which
// does not make this URI's messages any less deleted. Only indexed reads.
func (s *Store) MediaAwaitingDeletion(ctx context.Context, uri string) (bool, error) {
	begun, ok, err := s.KV(ctx, mediaIndexBegunKey)
	if err != nil || !ok {
		return false, err
	}
	begunMs, err := strconv.ParseInt(begun, 10, 64)
	if err != nil {
		return false, dbFailure(fmt.Errorf("read the media index's start %q: %w", begun, err))
	}
	var refs, gone, earliest int64
	err = s.db.QueryRow(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN c.uri IS NOT NULL AND r.avatar = 0 AND h.room_id IS NULL AND p.room_id IS NULL THEN 1 ELSE 0 END), 0),
			COALESCE(MIN(r.sent_at), 0)
		FROM media_ref r
		LEFT JOIN media_candidate c ON c.uri = r.uri AND c.event_id = r.event_id
		LEFT JOIN legal_hold h ON h.room_id = r.room_id
		LEFT JOIN patient_record p ON p.room_id = r.room_id AND p.event_id = r.event_id AND p.state <> $2
		WHERE r.uri = $1`, uri, RecordAccepted).Scan(&refs, &gone, &earliest)
	if err != nil {
		return false, fmt.Errorf("read the references of %s: %w", uri, err)
	}
	return refs > 0 && gone == refs && earliest >= begunMs, nil
}
