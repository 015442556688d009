package worker

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Work on one room runs in the order it was queued; rooms run in parallel;
// a long job's tasks never take the slots enforcement needs.
func TestLanesKeepRoomOrderAndRunRoomsInParallel(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	var mu sync.Mutex
	order := map[string][]int{}
	for i := range 50 {
		for _, room := range []string{"!a", "!b", "!c"} {
			l.Submit(ctx, room, i%2 == 0, func() {
				mu.Lock()
				order[room] = append(order[room], i)
				mu.Unlock()
			})
		}
	}
	l.Wait()
	for room, got := range order {
		for i, v := range got {
			if v != i {
				t.Fatalf("%s ran %v, out of order", room, got)
			}
		}
	}

	// Fill every job slot with slow work; enforcement still runs at once.
	block := make(chan struct{})
	for i := range JobSlots + 3 {
		l.Submit(ctx, "!job"+string(rune('a'+i)), true, func() { <-block })
	}
	done := make(chan struct{})
	l.Submit(ctx, "!join", false, func() { close(done) })
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("enforcement waited behind long jobs")
	}
	close(block)
	l.Wait()
}
