package worker

import (
	"context"
	"sync"
)

// Lanes keep the work on one room (or one person) in order while different
// rooms proceed in parallel. Enforcement (events, a person's change) and
// long jobs (reconciliation, sweeps, reviews) draw on separate slots, so a
// sweep over a thousand rooms never takes the slot a join's enforcement
// needs; within a room, whatever was queued first runs first.
type Lanes struct {
	mu      sync.Mutex
	byKey   map[string]*lane
	enforce chan struct{}
	jobs    chan struct{}
	wg      sync.WaitGroup
}

type lane struct {
	tasks []laneTask
}

type laneTask struct {
	job bool
	fn  func()
}

// Enforcement and job slots: enough to keep the homeserver busy on two
// cores without letting long jobs crowd out enforcement.
const (
	EnforceSlots = 8
	JobSlots     = 2
)

func NewLanes() *Lanes {
	return &Lanes{byKey: map[string]*lane{}, enforce: make(chan struct{}, EnforceSlots), jobs: make(chan struct{}, JobSlots)}
}

// Submit queues fn on key's lane; job says it is part of a long job.
//
// A long job's task takes its slot before it joins the lane, and waits for
// it outside: were it queued first, a sweep over a thousand rooms would sit
// at the head of every room's lane waiting for a slot, and each room's
// events would wait behind it (measured: a join's removal 2 s later instead
// of 0.2 s). So at most JobSlots rooms have a job task in their lane at once.
func (l *Lanes) Submit(ctx context.Context, key string, job bool, fn func()) {
	if job {
		select {
		case l.jobs <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
	l.mu.Lock()
	ln, running := l.byKey[key]
	if !running {
		ln = &lane{}
		l.byKey[key] = ln
	}
	ln.tasks = append(ln.tasks, laneTask{job: job, fn: fn})
	l.mu.Unlock()
	if !running {
		l.wg.Add(1)
		go l.run(ctx, key, ln)
	}
}

// run works through one lane until it is empty, then retires it.
func (l *Lanes) run(ctx context.Context, key string, ln *lane) {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		if len(ln.tasks) == 0 {
			delete(l.byKey, key)
			l.mu.Unlock()
			return
		}
		t := ln.tasks[0]
		ln.tasks = ln.tasks[1:]
		l.mu.Unlock()
		if t.job {
			// Its slot was taken when it was submitted.
			if ctx.Err() == nil {
				t.fn()
			}
			<-l.jobs
			continue
		}
		select {
		case l.enforce <- struct{}{}:
		case <-ctx.Done():
			continue // drain without running: the inbox keeps what was not done
		}
		if ctx.Err() == nil {
			t.fn()
		}
		<-l.enforce
	}
}

// SubmitAndWait queues fn on key's lane and waits until it has run.
func (l *Lanes) SubmitAndWait(ctx context.Context, key string, job bool, fn func()) {
	done := make(chan struct{})
	l.Submit(ctx, key, job, func() { defer close(done); fn() })
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Wait returns when every lane is empty (shutdown).
func (l *Lanes) Wait() { l.wg.Wait() }

// WaitOrDone waits for wg, or until ctx ends (the lanes drop what is left).
func WaitOrDone(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
