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
	submitted := make(chan struct{})
	go func() {
		// A long job submits room after room; it waits for slots, not the lanes.
		defer close(submitted)
		for i := range JobSlots + 3 {
			l.Submit(ctx, "!job"+string(rune('a'+i)), true, func() { <-block })
		}
	}()
	done := make(chan struct{})
	l.Submit(ctx, "!join", false, func() { close(done) })
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("enforcement waited behind long jobs")
	}
	close(block)
	<-submitted
	l.Wait()
}

// A room's events never wait behind a long job that is waiting for a slot:
// with every job slot busy, the job's next room is not queued in that
// room's lane yet, so the room's event runs at once.
func TestEventsDoNotQueueBehindAJobWaitingForASlot(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	block := make(chan struct{})
	started := make(chan struct{}, JobSlots)
	for i := range JobSlots {
		l.Submit(ctx, "!busy"+string(rune('a'+i)), true, func() { started <- struct{}{}; <-block })
	}
	for range JobSlots {
		<-started // every job slot is taken
	}
	submitted := make(chan struct{})
	go func() { // the sweep's next room: waits for a slot
		defer close(submitted)
		l.Submit(ctx, "!room", true, func() {})
	}()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	l.Submit(ctx, "!room", false, func() { close(done) })
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the room's event waited behind a job that had no slot yet")
	}
	close(block)
	<-submitted
	l.Wait()
}

// A long job's slot rests after each task in proportion to the task's
// length, so a job cannot keep the homeserver busy back to back.
func TestJobSlotsRestBetweenTasks(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	const task = 20 * time.Millisecond
	var mu sync.Mutex
	var starts []time.Time
	var wg sync.WaitGroup
	n := JobSlots * 3
	for i := range n {
		wg.Add(1)
		l.Submit(ctx, "!room"+string(rune('a'+i)), true, func() {
			defer wg.Done()
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			time.Sleep(task)
		})
	}
	wg.Wait()
	// n tasks on JobSlots slots, each followed by a rest of JobRest × task:
	// the last starts no sooner than (n/JobSlots − 1) full cycles in.
	cycles := n/JobSlots - 1
	minSpan := time.Duration(float64(cycles) * float64(task) * (1 + JobRest))
	if span := starts[len(starts)-1].Sub(starts[0]); span < minSpan {
		t.Fatalf("job tasks ran %v apart at most; with rest they need at least %v", span, minSpan)
	}

	// Enforcement is never paced, not even in a room whose job slot rests.
	done := make(chan struct{})
	l.Submit(ctx, "!rooma", false, func() { close(done) })
	select {
	case <-done:
	case <-time.After(time.Duration(float64(task) * JobRest)):
		t.Fatal("enforcement waited for a job slot's rest")
	}
	l.Wait()
}

// A job that yields waits while enforcement runs, and goes on after.
func TestYieldToEnforcementWaitsForEnforcement(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	release := make(chan struct{})
	running := make(chan struct{})
	l.Submit(ctx, "!join", false, func() { close(running); <-release })
	<-running
	yielded := make(chan struct{})
	go func() { l.YieldToEnforcement(ctx); close(yielded) }()
	select {
	case <-yielded:
		t.Fatal("the job went on while enforcement was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-yielded:
	case <-time.After(2 * time.Second):
		t.Fatal("the job still waits after enforcement finished")
	}
	l.Wait()
}

// A job that gives way runs flat out while nobody comes or goes, and rests
// ActiveRest times each write's length (at least ActiveMinRest) for
// GiveWayFor after someone does.
func TestGiveWayPacesOnlyAfterEnforcement(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	clock := time.Now()
	l.now = func() time.Time { return clock }
	const took = 20 * time.Millisecond
	rest := max(time.Duration(float64(took)*ActiveRest), ActiveMinRest)

	paused := func() time.Duration {
		start := time.Now()
		l.GiveWay(ctx, "!room", took)
		return time.Since(start)
	}
	if d := paused(); d > rest/4 {
		t.Fatalf("paced for %v with no enforcement ever", d)
	}
	l.NoteActivity()
	if d := paused(); d < rest {
		t.Fatalf("rested %v right after someone joined; want at least %v", d, rest)
	}
	clock = clock.Add(GiveWayFor + time.Second)
	if d := paused(); d > rest/4 {
		t.Fatalf("still paced %v long after anyone last joined", d)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	l.NoteActivity()
	start := time.Now()
	l.GiveWay(cancelled, "!room", time.Hour)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a cancelled job still rested %v", d)
	}
}

// While people come and go, a job slot rests ActiveRest times its task's
// length (at least ActiveMinRest) instead of JobRest; a job that paces
// itself (rest 0) is left be.
func TestJobSlotsRestLongerWhilePeopleAreActive(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	l.NoteActivity()
	const task = 20 * time.Millisecond
	run := func(rest float64) time.Duration {
		var wg sync.WaitGroup
		var first, last time.Time
		for i := range JobSlots + 1 {
			wg.Add(1)
			l.SubmitJob(ctx, "!room"+string(rune('a'+i)), rest, func() {
				defer wg.Done()
				if i == 0 {
					first = time.Now()
				}
				if i == JobSlots {
					last = time.Now()
				}
				time.Sleep(task)
			})
		}
		wg.Wait()
		// The third task waits for a slot: one task and one rest.
		return last.Sub(first)
	}
	activeRest := max(time.Duration(float64(task)*ActiveRest), ActiveMinRest)
	if gap, want := run(JobRest), task+activeRest; gap < want {
		t.Fatalf("with people active the third task started %v after the first; want at least %v", gap, want)
	}
	time.Sleep(activeRest) // the slots' rests end
	if gap := run(0); gap > time.Duration(float64(task)*(1+JobRest)) {
		t.Fatalf("a job that paces itself was made to rest: %v between tasks", gap)
	}
	l.Wait()
}

// A job resting inside its task on a room's lane wakes when the room's own
// work arrives, and sees it waiting, so it can end its task and let it by
// instead of holding up the room's enforcement for the whole rest.
func TestGiveWayLetsTheRoomsOwnWorkBy(t *testing.T) {
	l := NewLanes()
	ctx := context.Background()
	l.NoteActivity()
	const room = "!busy"
	var rested time.Duration
	var waiting bool
	done := make(chan struct{})
	l.SubmitJob(ctx, room, 0, func() {
		defer close(done)
		if l.Waiting(room) {
			t.Error("work reported waiting on an empty lane")
		}
		start := time.Now()
		l.GiveWay(ctx, room, time.Second) // would rest maxRest
		rested, waiting = time.Since(start), l.Waiting(room)
	})
	time.Sleep(50 * time.Millisecond)
	ran := make(chan struct{})
	l.Submit(ctx, room, false, func() { close(ran) })
	<-done
	<-ran
	if rested >= maxRest {
		t.Fatalf("the job rested %v with the room's own work waiting behind it", rested)
	}
	if !waiting {
		t.Fatal("the job was not told that work waits on its lane")
	}
	if l.Waiting(room) {
		t.Fatal("work still reported waiting after it ran")
	}
	l.Wait()
}
