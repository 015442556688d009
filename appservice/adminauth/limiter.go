package adminauth

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per key (a token's name, a person, an
// address), on the store's clock so tests can move time.
type limiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
	// refused: the last take was refused (so only the first refusal of a
	// run is worth recording).
	refused bool
}

// maxBuckets bounds the memory a flood of new keys can take: beyond it,
// full buckets (keys at rest) are forgotten.
const maxBuckets = 4096

func newLimiter(perHour int, burst int, now func() time.Time) *limiter {
	return &limiter{perSec: float64(perHour) / 3600, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// take spends one from key's bucket. When none is left it says how long
// until one is, and whether this is the first refusal since the last
// allowed take.
func (l *limiter) take(key string) (ok bool, wait time.Duration, firstRefusal bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = l.level(b, now)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		b.refused = false
		return true, 0, false
	}
	first := !b.refused
	b.refused = true
	secs := (1 - b.tokens) / l.perSec
	return false, time.Duration(math.Ceil(secs)) * time.Second, first
}

// level is b's tokens refilled up to now.
func (l *limiter) level(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	return math.Min(l.burst, b.tokens+elapsed*l.perSec)
}

func (l *limiter) forgetFull(now time.Time) {
	for k, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
}
