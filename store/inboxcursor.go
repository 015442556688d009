package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LateCommitGrace is how long the inbox cursor keeps asking for a sequence
// number it passed without seeing. Two processes storing transactions at
// once (active/standby) can commit a later number before an earlier one;
// a number that never appears was a rolled-back insert or one PostgreSQL
// spent on a duplicate event. An ingest's transaction is a few statements
// long, and on PostgreSQL it is ended after ingestIdleLimit idle (a
// standby frozen in the middle of one), so a minute is ample.
const LateCommitGrace = time.Minute

// maxGaps bounds the numbers a cursor waits for; past it, the oldest are
// given up early (a burst of rolled-back inserts, not a late commit).
const maxGaps = 2000

// InboxCursor hands out each unhandled inbox event once, in sequence
// order, and also those committed late into a gap it has already passed:
// a cursor that only moved forward would skip such an event for ever.
// Not safe for concurrent use: the inbox has one dispatcher.
type InboxCursor struct {
	s       *Store
	started bool
	after   int64               // the highest sequence number seen
	gaps    map[int64]time.Time // numbers below after not yet seen, since when
	full    bool                // the last read filled its limit
}

// NewInboxCursor starts a cursor at the oldest unhandled event.
func (s *Store) NewInboxCursor() *InboxCursor {
	return &InboxCursor{s: s, gaps: map[int64]time.Time{}}
}

// Behind reports whether the last Next filled its limit, so more rows may
// be waiting at once.
func (c *InboxCursor) Behind() bool { return c.full }

// Waiting is how many passed sequence numbers the cursor still waits for.
func (c *InboxCursor) Waiting() int { return len(c.gaps) }

// Next returns up to limit unhandled events not handed out before: those
// committed late into a gap first, then those past the cursor.
func (c *InboxCursor) Next(ctx context.Context, limit int) ([]InboxEvent, error) {
	if !c.started {
		if err := c.start(ctx); err != nil {
			return nil, err
		}
	}
	now := c.s.now()
	for seq, since := range c.gaps {
		if now.Sub(since) > LateCommitGrace {
			delete(c.gaps, seq)
		}
	}
	// Both reads before any change, so a failed read loses nothing.
	late, err := c.late(ctx)
	if err != nil {
		return nil, err
	}
	// Handled rows are read too, so a gap means a row not (yet) committed,
	// not one a previous leader finished.
	rows, err := c.s.inboxRows(ctx, `seq > $1 ORDER BY seq LIMIT $2`, c.after, limit)
	if err != nil {
		return nil, err
	}
	c.full = len(rows) == limit
	var out []InboxEvent
	for _, r := range late {
		delete(c.gaps, r.Seq)
		if !r.done {
			out = append(out, r.InboxEvent)
		}
	}
	for _, r := range rows {
		for missing := max(c.after+1, r.Seq-maxGaps); missing < r.Seq; missing++ {
			c.gaps[missing] = now
		}
		c.after = r.Seq
		if !r.done {
			out = append(out, r.InboxEvent)
		}
	}
	c.trim()
	return out, nil
}

// start places the cursor before the oldest unhandled event, or after the
// newest event when all are handled.
func (c *InboxCursor) start(ctx context.Context) error {
	q := `SELECT COALESCE((SELECT MIN(seq) FROM inbox WHERE done_at IS NULL) - 1, (SELECT MAX(seq) FROM inbox), 0)`
	if err := c.s.db.QueryRow(ctx, q).Scan(&c.after); err != nil {
		return fmt.Errorf("find the inbox's oldest unhandled event: %w", err)
	}
	c.started = true
	return nil
}

// late reads the rows that have appeared in the gaps the cursor waits for.
func (c *InboxCursor) late(ctx context.Context) ([]inboxRow, error) {
	seqs := make([]int64, 0, len(c.gaps))
	for seq := range c.gaps {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	var out []inboxRow
	for chunk := range slices.Chunk(seqs, insertChunk) {
		marks := make([]string, len(chunk))
		args := make([]any, len(chunk))
		for i, seq := range chunk {
			marks[i], args[i] = fmt.Sprintf("$%d", i+1), seq
		}
		rows, err := c.s.inboxRows(ctx, `seq IN (`+strings.Join(marks, ", ")+`) ORDER BY seq`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// trim gives up the oldest numbers waited for beyond maxGaps.
func (c *InboxCursor) trim() {
	if len(c.gaps) <= maxGaps {
		return
	}
	seqs := make([]int64, 0, len(c.gaps))
	for seq := range c.gaps {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs[:len(seqs)-maxGaps] {
		delete(c.gaps, seq)
	}
}

// inboxRow is an inbox row, handled or not.
type inboxRow struct {
	InboxEvent
	done bool
}

// inboxRows reads the inbox rows a condition selects.
func (s *Store) inboxRows(ctx context.Context, where string, args ...any) ([]inboxRow, error) {
	rows, err := s.db.Query(ctx, `SELECT seq, event_id, room_id, event_type, event_json, attempts, done_at IS NOT NULL FROM inbox WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read the inbox: %w", err)
	}
	defer rows.Close()
	var out []inboxRow
	for rows.Next() {
		var r inboxRow
		var js string
		if err := rows.Scan(&r.Seq, &r.EventID, &r.RoomID, &r.Type, &js, &r.Attempts, &r.done); err != nil {
			return nil, fmt.Errorf("scan an inbox row: %w", err)
		}
		r.JSON = []byte(js)
		out = append(out, r)
	}
	return out, rows.Err()
}
