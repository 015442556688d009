package adminauth

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per key (a token's name, a person, an
// address), on the store's clock so tests can move time. It holds at most
// maxKeys buckets, forgetting the least recently used, so a flood of new
// keys costs bounded memory and O(1) per request.
type limiter struct {
	mu      sync.Mutex
	perSec  float64
	burst   float64
	now     func() time.Time
	maxKeys int
	buckets map[string]*list.Element
	// order holds *bucket, most recently used first.
	order *list.List
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time
	// refused: the last take was refused (so only the first refusal of a
	// run is worth recording).
	refused bool
}

// maxBuckets bounds the memory a flood of new keys can take. Forgetting a
// key refills its bucket, so it is large enough that a flood must come
// from this many addresses (or /64s) to reset its own limit.
const maxBuckets = 10_000

func newLimiter(perHour int, burst int, now func() time.Time) *limiter {
	return &limiter{perSec: float64(perHour) / 3600, burst: float64(burst), now: now, maxKeys: maxBuckets,
		buckets: map[string]*list.Element{}, order: list.New()}
}

// take spends one from key's bucket. When none is left it says how long
// until one is, and whether this is the first refusal since the last
// allowed take.
func (l *limiter) take(key string) (ok bool, wait time.Duration, firstRefusal bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucket(key, now)
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

// bucket is key's bucket, now the most recently used, made full if new
// (the least recently used forgotten when there are maxKeys).
func (l *limiter) bucket(key string, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		l.order.MoveToFront(e)
		return e.Value.(*bucket)
	}
	if l.order.Len() >= l.maxKeys {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.buckets, oldest.Value.(*bucket).key)
	}
	b := &bucket{key: key, tokens: l.burst, at: now}
	l.buckets[key] = l.order.PushFront(b)
	return b
}

// level is b's tokens refilled up to now.
func (l *limiter) level(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.at).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	return math.Min(l.burst, b.tokens+elapsed*l.perSec)
}
