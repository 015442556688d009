package adminauth

import (
	"strconv"
	"testing"
	"time"
)

// TestLimiterBounded: however many keys a flood brings, the limiter holds
// at most maxBuckets, forgetting the least recently used: a key used
// since stays limited, the oldest comes back with a full bucket.
func TestLimiterBounded(t *testing.T) {
	c := newClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	l := newLimiter(1, 1, c.now)
	if ok, _, _ := l.take("oldest"); !ok {
		t.Fatal("the first take was refused")
	}
	if ok, _, _ := l.take("kept"); !ok {
		t.Fatal("the first take was refused")
	}
	for i := range maxBuckets + 500 {
		l.take("flood-" + strconv.Itoa(i))
		if i == maxBuckets/2 {
			l.take("kept") // refused, and now recently used
		}
	}
	if n := len(l.buckets); n != maxBuckets {
		t.Errorf("%d keys held after %d; want the cap, %d", n, maxBuckets+502, maxBuckets)
	}
	if ok, _, _ := l.take("oldest"); !ok {
		t.Error("the least recently used key was not forgotten (its bucket is still empty)")
	}
	if _, ok := l.buckets["kept"]; !ok {
		t.Error("a key used during the flood was forgotten before older ones")
	}
}
