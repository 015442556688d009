package retry

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// sleeper records the waits asked for instead of waiting; it says stop
// (as a context ending would) from the stopAt'th wait on, 0 never.
type sleeper struct {
	waits  []time.Duration
	stopAt int
	cancel context.CancelFunc
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) bool {
	s.waits = append(s.waits, d)
	if s.stopAt > 0 && len(s.waits) >= s.stopAt {
		s.cancel()
		return false
	}
	return true
}

var (
	errBusy = errors.New("busy")
	errNo   = errors.New("refused")
)

func TestPolicyDo(t *testing.T) {
	s := time.Second
	rateLimited := func(err error) time.Duration {
		if errors.Is(err, errRateLimited) {
			return 5 * s
		}
		return 0
	}
	tests := []struct {
		name      string
		policy    Policy
		fails     []error // fn's answers in turn; nil after them
		stopAt    int
		wantWaits []time.Duration
		wantCalls int
		wantErr   error  // errors.Is
		wantText  string // and its text, when set
	}{
		{name: "succeeds at once", policy: Policy{Backoff: Backoff{s, time.Minute}},
			wantCalls: 1},
		{name: "doubles until it succeeds", policy: Policy{Backoff: Backoff{s, time.Minute}},
			fails: []error{errBusy, errBusy, errBusy}, wantWaits: []time.Duration{s, 2 * s, 4 * s}, wantCalls: 4},
		{name: "never waits more than Max", policy: Policy{Backoff: Backoff{s, 3 * s}},
			fails: []error{errBusy, errBusy, errBusy, errBusy}, wantWaits: []time.Duration{s, 2 * s, 3 * s, 3 * s}, wantCalls: 5},
		{name: "gives up after Attempts, saying so", policy: Policy{Backoff: Backoff{s, 30 * s}, Attempts: 4},
			fails: []error{errBusy, errBusy, errBusy, errBusy, errBusy}, wantWaits: []time.Duration{s, 2 * s, 4 * s}, wantCalls: 4,
			wantErr: errBusy, wantText: "after 4 tries: busy"},
		{name: "a permanent failure is not retried", policy: Policy{Backoff: Backoff{s, 30 * s}, Retryable: func(err error) bool { return errors.Is(err, errBusy) }},
			fails: []error{errBusy, errNo}, wantWaits: []time.Duration{s}, wantCalls: 2, wantErr: errNo, wantText: "refused"},
		{name: "a rate limit's wait replaces the backoff's, which moves on", policy: Policy{Backoff: Backoff{s, 30 * s}, RetryAfter: rateLimited},
			fails: []error{errRateLimited, errBusy, errBusy}, wantWaits: []time.Duration{5 * s, 2 * s, 4 * s}, wantCalls: 4},
		{name: "a rate limit's wait is capped too", policy: Policy{Backoff: Backoff{s, 3 * s}, RetryAfter: rateLimited},
			fails: []error{errRateLimited}, wantWaits: []time.Duration{3 * s}, wantCalls: 2},
		{name: "the context ending stops the waiting", policy: Policy{Backoff: Backoff{s, 30 * s}},
			fails: []error{errBusy, errBusy, errBusy}, stopAt: 2, wantWaits: []time.Duration{s, 2 * s}, wantCalls: 2, wantErr: context.Canceled},
		{name: "no cap when Max is 0", policy: Policy{Backoff: Backoff{Initial: time.Hour}},
			fails: []error{errBusy, errBusy, errBusy}, wantWaits: []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour}, wantCalls: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sl := &sleeper{stopAt: tt.stopAt, cancel: cancel}
			p := tt.policy
			p.Sleep = sl.sleep
			var heard []time.Duration
			p.OnRetry = func(err error, try int, wait time.Duration) {
				if try != len(heard)+1 || err == nil {
					t.Errorf("OnRetry(%v, try %d) after %d retries", err, try, len(heard))
				}
				heard = append(heard, wait)
			}
			calls := 0
			err := p.Do(ctx, func() error {
				calls++
				if calls <= len(tt.fails) {
					return tt.fails[calls-1]
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantText != "" && (err == nil || err.Error() != tt.wantText) {
				t.Errorf("err = %v, want %q", err, tt.wantText)
			}
			if calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if !slices.Equal(sl.waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", sl.waits, tt.wantWaits)
			}
			if !slices.Equal(heard, tt.wantWaits) {
				t.Errorf("OnRetry heard waits %v, want %v", heard, tt.wantWaits)
			}
		})
	}
}

var errRateLimited = errors.New("M_LIMIT_EXCEEDED")

// A failure when the context has already ended is not retried, nor
// reported as one that will be.
func TestPolicyDoStopsWhenContextEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sl := &sleeper{}
	calls := 0
	err := Policy{Backoff: Backoff{time.Second, time.Minute}, Sleep: sl.sleep,
		OnRetry: func(error, int, time.Duration) { t.Error("OnRetry called after the context ended") },
	}.Do(ctx, func() error { calls++; cancel(); return errBusy })
	if !errors.Is(err, context.Canceled) || calls != 1 || len(sl.waits) != 0 {
		t.Errorf("err %v, %d calls, waits %v", err, calls, sl.waits)
	}
}

// Delay serves loops that go on after a failure: each Wait doubles the
// next, Reset starts again from Initial, and Wait says when to stop.
func TestDelay(t *testing.T) {
	s := time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sl := &sleeper{stopAt: 6, cancel: cancel}
	d := Delay{Backoff: Backoff{s, 4 * s}, Sleep: sl.sleep}
	var next []time.Duration
	steps := []string{"wait", "wait", "wait", "wait", "reset", "wait", "wait"}
	var carried []bool
	for _, step := range steps {
		if step == "reset" {
			d.Reset()
			continue
		}
		next = append(next, d.Next())
		carried = append(carried, d.Wait(ctx))
	}
	want := []time.Duration{s, 2 * s, 4 * s, 4 * s, s, 2 * s}
	if !slices.Equal(sl.waits, want) || !slices.Equal(next, want) {
		t.Errorf("waits %v, Next said %v, want %v", sl.waits, next, want)
	}
	if !slices.Equal(carried, []bool{true, true, true, true, true, false}) {
		t.Errorf("Wait answered %v; the sixth should stop", carried)
	}
}

func TestBackoffNext(t *testing.T) {
	b := Backoff{Initial: 15 * time.Second, Max: 10 * time.Minute}
	for _, tt := range []struct{ prev, want time.Duration }{
		{0, 15 * time.Second}, {15 * time.Second, 30 * time.Second},
		{4 * time.Minute, 8 * time.Minute}, {8 * time.Minute, 10 * time.Minute}, {10 * time.Minute, 10 * time.Minute},
	} {
		if got := b.Next(tt.prev); got != tt.want {
			t.Errorf("Next(%s) = %s, want %s", tt.prev, got, tt.want)
		}
	}
}

// The package's own Sleep returns at once when the context has ended,
// without waiting out its duration.
func TestSleepObeysContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep carried on after the context ended")
	}
}

// A schedule kept between calls (the patient record's delivery queue):
// the wait after n failures in a row, doubling from Initial to Max.
func TestBackoffAfter(t *testing.T) {
	b := Backoff{Initial: 5 * time.Second, Max: 10 * time.Minute}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{0, 5 * time.Second}, {1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second},
		{7, 320 * time.Second}, {8, 10 * time.Minute}, {31, 10 * time.Minute}, {1000, 10 * time.Minute},
	} {
		if got := b.After(c.n); got != c.want {
			t.Errorf("After(%d) = %s, want %s", c.n, got, c.want)
		}
	}
}
