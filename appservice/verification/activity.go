package verification

import (
	"context"
	"sync/atomic"
	"time"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/appservice/worker"
	"github.com/caldicott/caldicott/internal/retry"
)

// The bot's long poll of /sync is woken by every event in every room the
// bot is in, and on each wake Dendrite v0.15.2 works out an incremental
// sync over all of the bot's rooms (its syncapi walks every joined room's
// recent events, even when the filter lets none through) before it finds
// nothing to send and waits again (syncapi/sync/requestpool.go). With a
// thousand clinical rooms and people at work, the bot's idle long poll was
// among Dendrite's largest costs. So while events are arriving, the watch
// asks without waiting (one incremental sync each), pausing between polls
// syncShare times as long as the last one took — the bot's /sync keeps to
// about a tenth of one of the homeserver's workers — within busyPollMin
// and busyPollMax; it long-polls again once the rooms have been quiet for
// quietFor. A fixed 2 s pause (before) made a changed identity wait about a
// second on average to be seen on a server with few rooms, where a poll
// costs a few milliseconds; a server with a thousand rooms, where a poll
// costs a couple of hundred, still pauses the full 2 s.
const (
	syncShare   = 10
	busyPollMin = 250 * time.Millisecond
	busyPollMax = 2 * time.Second
	quietFor    = 10 * time.Second
)

// busyGap is the pause after a poll that took took, while the rooms are busy.
func busyGap(took time.Duration) time.Duration {
	return min(max(syncShare*took, busyPollMin), busyPollMax)
}

// roomActivity is when an event last reached Caldicott from any room, and
// a signal that ends a long poll early when one does.
type roomActivity struct {
	last atomic.Int64 // unix nanoseconds
	busy chan struct{}
}

func newRoomActivity() roomActivity { return roomActivity{busy: make(chan struct{}, 1)} }

// NoteRoomEvents is told of every transaction of room events the
// homeserver sends Caldicott (the bot's own echoes included: they wake its
// long poll as much as anyone's).
func (s *Verification) NoteRoomEvents() {
	s.activity.last.Store(time.Now().UnixNano())
	select {
	case s.activity.busy <- struct{}{}:
	default:
	}
}

// pollTimeout is how long the next /sync may wait for news: the long poll
// once the rooms have been quiet for quietFor, otherwise not at all.
func pollTimeout(lastEvent, now time.Time, long time.Duration) time.Duration {
	if now.Sub(lastEvent) >= quietFor {
		return long
	}
	return 0
}

// LastRoomEvent is when a transaction of room events last arrived (zero
// if none has since start).
func (s *Verification) LastRoomEvent() time.Time {
	if ns := s.activity.last.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// pollSync asks /sync once, through ask, waiting up to timeout for news.
// A long poll ends early (cutShort) when a room event arrives meanwhile:
// each event would otherwise cost the homeserver a sync over all the bot's
// rooms (see the top of this file).
func (s *Verification) pollSync(ctx context.Context, timeout time.Duration, ask func(ctx context.Context, timeoutMS int) (*mautrix.RespSync, error)) (resp *mautrix.RespSync, cutShort bool, err error) {
	pollCtx := ctx
	if timeout > 0 {
		select {
		case <-s.activity.busy: // an event from before this poll began
		default:
		}
		var cancel context.CancelFunc
		pollCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-s.activity.busy:
				cancel()
			case <-pollCtx.Done():
			}
		}()
	}
	resp, err = ask(pollCtx, int(timeout.Milliseconds()))
	if err != nil && ctx.Err() == nil && pollCtx.Err() != nil {
		return nil, true, err
	}
	return resp, false, err
}

// syncBackoff spaces a failed /sync's next tries, and a stopped sync's restarts.
var syncBackoff = retry.Backoff{Initial: time.Second, Max: worker.MaxBackoff}

// followSync keeps a paced /sync going from since: a long poll of up to
// long while the rooms are quiet, otherwise a poll after each busyGap. ask makes one request; got handles each response before
// the token moves on, and an error from it ends the loop. A failed request
// is retried with backoff, logged as what.
func (s *Verification) followSync(ctx context.Context, what string, long time.Duration, since string,
	ask func(ctx context.Context, since string, timeoutMS int) (*mautrix.RespSync, error),
	got func(resp *mautrix.RespSync, since string) error) error {
	delay := retry.Delay{Backoff: syncBackoff}
	for ctx.Err() == nil {
		asked := time.Now()
		timeout := pollTimeout(s.LastRoomEvent(), asked, long)
		resp, cutShort, err := s.pollSync(ctx, timeout, func(ctx context.Context, ms int) (*mautrix.RespSync, error) {
			return ask(ctx, since, ms)
		})
		took := time.Since(asked)
		if cutShort {
			continue // the rooms got busy: poll instead
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.Log.Warn().Err(err).Dur("retry_in", delay.Next()).Msg(what + " failed")
			if !delay.Wait(ctx) {
				break
			}
			continue
		}
		delay.Reset()
		if err := got(resp, since); err != nil {
			return err
		}
		since = resp.NextBatch
		if timeout == 0 && !worker.Sleep(ctx, busyGap(took)) {
			break
		}
	}
	return ctx.Err()
}
