package retry

import (
	"context"
	"fmt"
	"time"
)

// Backoff spaces the tries of something that failed: Initial first (more
// than 0), then twice the last wait, never more than Max (0: no cap).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Next is the wait after a wait of prev; 0 is no wait yet, so Initial.
func (b Backoff) Next(prev time.Duration) time.Duration {
	if prev <= 0 {
		return b.capped(b.Initial)
	}
	return b.capped(2 * prev)
}

// After is the wait after n failures in a row, for a schedule kept between
// calls (a delivery queue stores its attempts): Initial after the first,
// doubling to Max.
func (b Backoff) After(n int) time.Duration {
	if n <= 1 {
		return b.capped(b.Initial)
	}
	return b.capped(b.Initial << min(n-1, 30))
}

// capped is d, or Max when d is longer.
func (b Backoff) capped(d time.Duration) time.Duration {
	if b.Max > 0 {
		return min(d, b.Max)
	}
	return d
}

// Sleep waits d or until ctx ends; it reports whether to carry on.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Delay is a Backoff under way, for a loop that carries on after a failure
// (a poll, a restart) rather than retrying one call:
//
//	d := retry.Delay{Backoff: b}
//	for ctx.Err() == nil {
//		if err := poll(ctx); err != nil {
//			log.Warn().Err(err).Dur("retry_in", d.Next()).Msg("Poll failed")
//			if !d.Wait(ctx) {
//				return
//			}
//			continue
//		}
//		d.Reset()
//	}
type Delay struct {
	Backoff
	// Sleep waits; nil is the package's Sleep. Tests pass their own.
	Sleep func(ctx context.Context, d time.Duration) bool
	next  time.Duration
}

// Next is the wait the next call to Wait takes.
func (d *Delay) Next() time.Duration {
	if d.next == 0 {
		return d.Backoff.Next(0)
	}
	return d.next
}

// Wait sleeps Next, then doubles it (to Max); false when ctx ended first.
func (d *Delay) Wait(ctx context.Context) bool {
	return d.wait(ctx, d.Next())
}

// wait sleeps w and moves the backoff on from the backoff's own wait.
func (d *Delay) wait(ctx context.Context, w time.Duration) bool {
	d.next = d.Backoff.Next(d.Next())
	sleep := d.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	return sleep(ctx, w)
}

// Reset starts the backoff again from Initial, after a success.
func (d *Delay) Reset() { d.next = 0 }

// Policy retries one call.
type Policy struct {
	Backoff
	// Attempts bounds the tries, the first included; 0 tries until ctx ends.
	Attempts int
	// Retryable says which failures to try again (IsTransient, typically);
	// nil tries again after any.
	Retryable func(error) bool
	// RetryAfter, when it answers more than 0 for a failure (RetryAfter, for
	// a homeserver's rate limit), replaces the backoff's wait, up to Max.
	RetryAfter func(error) time.Duration
	// OnRetry hears of each failure that will be tried again (try counts
	// from 1), before the wait; for logs and metrics.
	OnRetry func(err error, try int, wait time.Duration)
	// Sleep waits; nil is the package's Sleep. Tests pass their own.
	Sleep func(ctx context.Context, d time.Duration) bool
}

// Do calls fn until it succeeds, and returns its last error when that one
// is not retryable. When the tries run out it returns the last error
// wrapped ("after 4 tries: …"); when ctx ends between tries, ctx.Err().
func (p Policy) Do(ctx context.Context, fn func() error) error {
	d := Delay{Backoff: p.Backoff, Sleep: p.Sleep}
	for try := 1; ; try++ {
		err := fn()
		if err == nil || (p.Retryable != nil && !p.Retryable(err)) {
			return err
		}
		if p.Attempts > 0 && try >= p.Attempts {
			return fmt.Errorf("after %d tries: %w", try, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := d.Next()
		if p.RetryAfter != nil {
			if ra := p.RetryAfter(err); ra > 0 {
				wait = p.capped(ra)
			}
		}
		if p.OnRetry != nil {
			p.OnRetry(err, try, wait)
		}
		if !d.wait(ctx, wait) {
			return ctx.Err()
		}
	}
}
