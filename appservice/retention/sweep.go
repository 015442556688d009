package retention

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/executor"
	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// pageSize is how many events one read of a room's history returns: the
// sweep holds one page at a time, never a whole room.
const pageSize = 100

// sweepRest: the sweep paces itself (one redaction at a time, yielding to
// enforcement before each), so its job slot needs no rest between rooms.
const sweepRest = 0

// SweepAll is the periodic job: every room the bot is in, each a long job
// in its own lane. A room with more expired messages than one batch goes
// on being swept after SweepAll returns, a batch at a time between other
// rooms' work, so a large backlog is spread out and never holds up every
// other room's next sweep; the next SweepAll leaves that room alone until
// its backlog is done.
func (r *Retention) SweepAll(ctx context.Context) {
	if !r.Cfg.Retention.Deleting() || r.Cfg.Policy.DryRun {
		return // status says so; a dry run must not mark anything as deleted
	}
	start := time.Now()
	rooms, err := r.Bot.JoinedRooms(ctx)
	if err != nil {
		r.Log.Error().Err(err).Msg("Could not list joined rooms for the retention sweep")
		r.metrics.Failures.Inc()
		return
	}
	var wg sync.WaitGroup
	var backlog, redacted atomic.Int64
	for _, room := range rooms.JoinedRooms {
		if !r.sweeping.claim(room) {
			// An earlier sweep is still working through its backlog: count
			// what it last recorded, so the backlog metric does not drop.
			if st, err := r.Store.SweepStateOf(ctx, room.String()); err == nil {
				backlog.Add(st.Backlog)
			}
			continue
		}
		wg.Add(1)
		r.lanes.SubmitJob(ctx, room.String(), sweepRest, func() {
			defer wg.Done()
			out := r.DeleteExpired(ctx, room)
			redacted.Add(int64(out.Redacted))
			backlog.Add(out.Backlog)
			if out.More && ctx.Err() == nil {
				// From outside the lane: this task holds a job slot.
				go func() { defer r.sweeping.release(room); r.sweepUntilDone(ctx, room) }()
				return
			}
			r.sweeping.release(room)
		})
	}
	worker.WaitOrDone(ctx, &wg)
	if ctx.Err() != nil {
		return
	}
	r.releaseDue(ctx)
	r.metrics.Backlog.Set(float64(backlog.Load()))
	r.metrics.SweepSeconds.Observe(time.Since(start).Seconds())
	r.Log.Info().Int("rooms", len(rooms.JoinedRooms)).Int64("redacted", redacted.Load()).
		Int64("backlog", backlog.Load()).Dur("took", time.Since(start)).Msg("Retention sweep done")
}

// SweepSoon sweeps one room now, as long jobs in its lane, until it has
// caught up — unless it is being swept already.
func (r *Retention) SweepSoon(ctx context.Context, roomID id.RoomID) {
	if !r.Cfg.Retention.Deleting() || r.Cfg.Policy.DryRun || !r.sweeping.claim(roomID) {
		return
	}
	defer r.sweeping.release(roomID)
	r.sweepUntilDone(ctx, roomID)
}

// sweepUntilDone makes passes over a room, one batch each, until nothing
// expired is left (or a pass fails: the next sweep tries again).
func (r *Retention) sweepUntilDone(ctx context.Context, roomID id.RoomID) {
	for ctx.Err() == nil {
		var out RoomOutcome
		r.lanes.SubmitAndWaitJob(ctx, roomID.String(), sweepRest, func() { out = r.DeleteExpired(ctx, roomID) })
		if ctx.Err() != nil {
			return // stopping: the pass may still be running, out is not ours to read
		}
		if !out.More {
			return
		}
	}
}

// roomSet is the rooms being swept now, so two sweeps never walk one room
// at once (they would read the same page and redact twice).
type roomSet struct {
	mu    sync.Mutex
	rooms map[id.RoomID]bool
}

func (s *roomSet) claim(room id.RoomID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[room] {
		return false
	}
	if s.rooms == nil {
		s.rooms = map[id.RoomID]bool{}
	}
	s.rooms[room] = true
	return true
}

func (s *roomSet) release(room id.RoomID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rooms, room)
}

// RoomOutcome is what one pass over a room did.
type RoomOutcome struct {
	Redacted int
	// More: the batch ran out with expired messages left; sweep again.
	More bool
	// Backlog: expired events left after the pass (a lower bound).
	Backlog int64
}

// DeleteExpired makes one pass over a room's history from where the last
// stopped, deleting up to one batch of expired events, and records how it
// went (status shows it; the IG team is told when it starts failing).
func (r *Retention) DeleteExpired(ctx context.Context, roomID id.RoomID) RoomOutcome {
	f, err := r.Facts.Room(ctx, roomID)
	if errors.Is(err, mautrix.MForbidden) {
		return RoomOutcome{} // not (or no longer) in the room
	}
	if err != nil {
		r.Log.Warn().Err(err).Stringer("room_id", roomID).Msg("Could not read a room for the retention sweep")
		return RoomOutcome{}
	}
	ret := policy.EffectiveRetention(f.Class, f.Retention, r.RetentionRules())
	if ret.MaxLifetime == 0 {
		return RoomOutcome{} // unclassified: nothing is decided
	}
	st, err := r.Store.SweepStateOf(ctx, roomID.String())
	if err != nil {
		r.Log.Warn().Err(err).Stringer("room_id", roomID).Msg("Could not read the room's sweep state")
		return RoomOutcome{}
	}
	_, holdErr := r.Store.LegalHoldOf(ctx, roomID.String())
	if holdErr != nil && !errors.Is(holdErr, store.ErrNotFound) {
		r.Log.Warn().Err(holdErr).Stringer("room_id", roomID).Msg("Could not read the room's legal hold")
		return RoomOutcome{}
	}
	now := r.Now()
	st.LastStarted = now
	p := &pass{r: r, room: roomID, ret: ret, held: holdErr == nil, st: &st, now: now, budget: r.Cfg.Retention.Batch}
	err = p.run(ctx)
	if ctx.Err() != nil {
		return RoomOutcome{Redacted: p.redacted}
	}
	refused := false
	if err != nil {
		var ref refusal
		refused = errors.As(err, &ref)
		st.Failures++
		st.LastError = plainError(err)
		r.metrics.Failures.Inc()
		r.Log.Warn().Err(err).Stringer("room_id", roomID).Msg("Retention sweep of a room failed")
	} else {
		st.Failures, st.LastError = 0, ""
		if p.caughtUp {
			st.LastFinished = now
		}
	}
	health := policy.SweepHealth(st.Failures, refused, st.Backlog, st.LastFinished, now, r.Cfg.Retention.SweepInterval.Duration)
	if health != st.Alerted {
		alert := policy.SweepAlert(st.Alerted, health, roomRef(f), st.LastError, st.Backlog, st.LastFinished, now)
		if _, err := r.Exec.Execute(executor.WithInput(ctx, "retention-alert:"+roomID.String()+":"+now.Format(time.RFC3339)), roomID, r.BotID.String(), alert); err == nil {
			st.Alerted = health
		}
	}
	if err := r.Store.SaveSweepState(ctx, st); err != nil {
		r.Log.Warn().Err(err).Stringer("room_id", roomID).Msg("Could not save the room's sweep state")
	}
	r.Exec.Failpoint("sweep:saved")
	return RoomOutcome{Redacted: p.redacted, More: p.more && err == nil, Backlog: st.Backlog}
}

// roomRef names a room for the IG team: its alias, else its ID — never its
// name, which people may have written patient details in.
func roomRef(f policy.RoomFacts) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.RoomID
}

// pass is one walk over a room's history.
type pass struct {
	r        *Retention
	room     id.RoomID
	ret      policy.Retention
	held     bool
	st       *store.SweepState
	now      time.Time
	budget   int
	redacted int
	more     bool
	caughtUp bool
	// mu guards the counts while redactions run at once (redactAll).
	mu sync.Mutex
}

func (p *pass) run(ctx context.Context) error {
	if !policy.SweepWorthReading(p.now, p.ret, p.held, p.st.OldestKept, p.st.Backlog) {
		p.caughtUp = true // on hold, or nothing can have expired since the last pass
		return nil
	}
	ctx = executor.WithInput(ctx, "retention:"+p.room.String())
	// The saved cursor never passes a page holding a message that awaits
	// the record: once recorded, it is deleted by a pass that reads that
	// page again. The pass itself reads on from where it is (from), so
	// what expired after it is deleted meanwhile.
	from, pinned, keptBefore := p.st.Cursor, false, 0
	for {
		page, err := p.r.readPage(ctx, p.room, from)
		if err != nil {
			return err
		}
		if err := p.indexFiles(ctx, page.Chunk); err != nil {
			return err
		}
		events, byID := p.sweepEvents(page.Chunk)
		res := policy.SweepPage(p.now, p.ret, p.held, events, p.budget)
		each := res.Decision.Each()
		for i := 0; i < len(each); {
			if p.redacted > 0 && p.r.lanes.Waiting(p.room.String()) {
				// The room's own events wait behind this pass (a join to
				// judge): let them by; the next pass reads this page again
				// and goes on. At least one deletion per pass, so a busy
				// room is still swept.
				p.st.Backlog, p.more = int64(len(each)-i+res.Backlog+keptBefore), true
				return nil
			}
			n := 1
			if !p.r.lanes.Active() {
				n = min(flatOut, len(each)-i)
			}
			if err := p.redactAll(ctx, each[i:i+n], byID); err != nil {
				return err
			}
			i += n
		}
		kept := keptBefore + res.Kept
		if over := res.Backlog - res.Kept; over > 0 {
			// The batch ran out on this page: the next pass reads it again
			// (what was deleted is skipped) and goes on.
			p.st.Backlog, p.more = int64(over+kept), true
			return nil
		}
		if res.Done {
			p.st.OldestKept, p.st.Backlog, p.caughtUp = res.OldestKept, int64(kept), true
			return nil
		}
		if len(page.Chunk) == 0 || page.End == "" || page.End == page.Start {
			// The end of the room's history: everything in it has expired.
			p.st.OldestKept, p.st.Backlog, p.caughtUp = time.Time{}, int64(kept), true
			return nil
		}
		keptBefore, pinned = kept, pinned || res.Kept > 0
		from = page.End
		if pinned {
			continue
		}
		p.st.Cursor = from
		if err := p.r.Store.SaveSweepState(ctx, *p.st); err != nil {
			return err
		}
		p.r.Exec.Failpoint("sweep:cursor")
	}
}

// startOfHistory is where a room's first sweep starts reading. The spec
// lets a forward /messages omit "from" to start at the beginning, but
// Dendrite v0.15.2 then fails ("Invalid from parameter: malformed sync
// token": it turns the missing token into "" and cannot parse that), so
// the sweep names Dendrite's first topological position itself.
const startOfHistory = "t0_0"

// readPage reads the page of history that starts at cursor, oldest first.
func (r *Retention) readPage(ctx context.Context, roomID id.RoomID, cursor string) (*mautrix.RespMessages, error) {
	from := cursor
	if from == "" {
		from = startOfHistory
	}
	var page *mautrix.RespMessages
	err := r.retry(ctx, func() error {
		var err error
		page, err = r.Bot.Messages(ctx, roomID, from, "", mautrix.DirectionForward, nil, pageSize)
		if errors.Is(err, mautrix.MInvalidParam) && cursor == "" && from != "" {
			from = "" // a homeserver that knows no such token: the spec's way
			page, err = r.Bot.Messages(ctx, roomID, from, "", mautrix.DirectionForward, nil, pageSize)
		}
		return err
	})
	return page, err
}

// indexFiles notes in the media index the files a page of history points
// at: messages from before Caldicott, or from before the bot joined, are
// known from here on.
func (p *pass) indexFiles(ctx context.Context, chunk []*event.Event) error {
	var refs []store.MediaRef
	for _, e := range chunk {
		for _, ref := range FileRefs(e) {
			ref.RoomID = p.room.String()
			refs = append(refs, ref)
		}
	}
	return p.r.Store.AddMediaRefs(ctx, refs)
}

// sweepEvents turns a page of history into what the rules read.
func (p *pass) sweepEvents(chunk []*event.Event) ([]policy.SweepEvent, map[string]*event.Event) {
	out := make([]policy.SweepEvent, 0, len(chunk))
	byID := make(map[string]*event.Event, len(chunk))
	for _, e := range chunk {
		se := policy.SweepEvent{
			ID: e.ID.String(), Type: e.Type.Type, Sent: time.UnixMilli(e.Timestamp),
			State: e.StateKey != nil, Redacted: e.Unsigned.RedactedBecause != nil,
		}
		if p.r.Keep != nil && se.Deletable() {
			se.Keep = p.r.Keep(p.room.String(), se.ID)
			// An edit of a message awaiting the record stays with it, so the
			// room goes on reading what was sent to the record.
			if target := editedEvent(e); !se.Keep && target != "" {
				se.Keep = p.r.Keep(p.room.String(), target)
			}
		}
		out = append(out, se)
		byID[se.ID] = e
	}
	return out, byID
}

// editedEvent is the event an edit replaces, or "" for any other event.
// The relation is in the clear even in an encrypted event.
func editedEvent(e *event.Event) string {
	var c struct {
		RelatesTo struct {
			Type    string `json:"rel_type"`
			EventID string `json:"event_id"`
		} `json:"m.relates_to"`
	}
	if len(e.Content.VeryRaw) == 0 || json.Unmarshal(e.Content.VeryRaw, &c) != nil || c.RelatesTo.Type != string(event.RelReplace) {
		return ""
	}
	return c.RelatesTo.EventID
}

// flatOut is how many redactions a pass keeps in flight while nobody is
// about: Dendrite works on one while Caldicott sends the next, so a
// backlog clears at least as fast as a client redacting by hand. While
// people are active, one at a time, with a rest after each.
const flatOut = 2

// redactAll deletes a few expired events at once (see flatOut); each is
// counted as it succeeds, so a failure loses no count, and the failures
// are returned together.
func (p *pass) redactAll(ctx context.Context, ds []policy.Decision, byID map[string]*event.Event) error {
	if len(ds) == 1 {
		return p.redact(ctx, ds[0], byID[ds[0].Actions[0].EventID])
	}
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.redact(ctx, d, byID[d.Actions[0].EventID])
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// redact deletes one expired event, after any enforcement that is running,
// and queues its files for judgement when Caldicott looks after Dendrite's
// media store.
// While people are active it then gives way (worker.Lanes.GiveWay); with
// nobody about it goes on at once, at the homeserver's full speed. Safe
// for a few at once (redactAll).
func (p *pass) redact(ctx context.Context, d policy.Decision, evt *event.Event) error {
	p.r.lanes.YieldToEnforcement(ctx)
	// Its files are queued before it goes, so a crash in between loses
	// none; they are judged a sweep later (releaseDue).
	if err := p.r.noteFiles(ctx, p.room, evt); err != nil {
		return err
	}
	var res executor.Result
	start := time.Now()
	err := p.r.retry(ctx, func() error {
		var err error
		res, err = p.r.Exec.Execute(ctx, p.room, p.r.BotID.String(), d)
		return err
	})
	if err != nil {
		return err
	}
	p.r.lanes.GiveWay(ctx, p.room.String(), time.Since(start))
	if len(res.Failures) > 0 {
		p.r.dropFiles(ctx, evt) // the message stays, and so do its files
		return refusal{res.Failures[0]}
	}
	p.mu.Lock()
	p.redacted++
	p.budget--
	p.st.Redacted++
	p.mu.Unlock()
	p.r.metrics.Redactions.Inc()
	return nil
}
