package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
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
	// enforcing counts enforcement tasks running, for long jobs that yield;
	// idle is closed (and forgotten) when it drops to zero, to wake them.
	enforcing atomic.Int64
	idleMu    sync.Mutex
	idle      chan struct{}
	// lastActive is when people last came or went in a room (Unix ns),
	// for jobs that give way while they do.
	lastActive atomic.Int64
	// now is the clock GiveWay reads (tests move it).
	now func() time.Time
}

type lane struct {
	tasks []laneTask
	// arrived, when set, is closed as the next task joins the lane: a job
	// resting inside its task (GiveWay) wakes to let it by.
	arrived chan struct{}
}

type laneTask struct {
	job  bool
	rest float64
	fn   func()
}

// Enforcement and job slots: enough to keep the homeserver busy on two
// cores without letting long jobs crowd out enforcement.
const (
	EnforceSlots = 8
	JobSlots     = 2
)

// JobRest is how long a job slot stays idle after a task, as a multiple of
// the time the task took: long jobs use the homeserver a quarter of the
// time a slot is theirs, so it stays responsive for enforcement (measured
// with 1,000 rooms: unpaced, reconciling back to back kept Dendrite 1.4
// cores busy and a join's removal took 1.6× as long as when idle).
const JobRest = 3.0

// ActiveRest is the pause, as a multiple of a task's length, while people
// are coming and going (NoteActivity in the last GiveWayFor): long jobs
// then use the homeserver a tenth of the time. Measured with 1,000 rooms:
// a quarter of the time (JobRest) still left a join's removal 1.46× as
// slow as when idle.
const ActiveRest = 9.0

// ActiveMinRest is the shortest pause after a long job's task (a room's
// state read, a sweep's redaction) while people are coming and going. A
// task's own length understates its cost: measured on Dendrite v0.15.2
// with 1,000 rooms, a state read answered in 6 ms cost Dendrite about 40 ms
// of CPU, and a redaction about as much, most of it after the answer (its
// sync, appservice and push consumers). While sweeping, a join's removal
// was 1.21× as slow as idle with a 250 ms floor and 1.10× with this one
// (issue #9; docs/benchmarks.md). At one task a second per job slot, long
// jobs take under a tenth of a core while people are about, and run flat
// out (or at JobRest) once nobody has come or gone for GiveWayFor.
const ActiveMinRest = time.Second

// maxRest bounds one pause, so a task that hung on a slow homeserver does
// not stall the job for minutes afterwards.
const maxRest = 5 * time.Second

func NewLanes() *Lanes {
	return &Lanes{byKey: map[string]*lane{}, enforce: make(chan struct{}, EnforceSlots), jobs: make(chan struct{}, JobSlots), now: time.Now}
}

// Submit queues fn on key's lane; job says it is part of a long job.
//
// A long job's task takes its slot before it joins the lane, and waits for
// it outside: were it queued first, a sweep over a thousand rooms would sit
// at the head of every room's lane waiting for a slot, and each room's
// events would wait behind it (measured: a join's removal 2 s later instead
// of 0.2 s). So at most JobSlots rooms have a job task in their lane at once.
func (l *Lanes) Submit(ctx context.Context, key string, job bool, fn func()) {
	l.submit(ctx, key, laneTask{job: job, rest: JobRest, fn: fn})
}

// SubmitJob queues a long job's task whose slot rests for rest times the
// task's length afterwards (a job that paces itself passes 0).
func (l *Lanes) SubmitJob(ctx context.Context, key string, rest float64, fn func()) {
	l.submit(ctx, key, laneTask{job: true, rest: rest, fn: fn})
}

func (l *Lanes) submit(ctx context.Context, key string, t laneTask) {
	if t.job {
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
	ln.tasks = append(ln.tasks, t)
	if ln.arrived != nil {
		close(ln.arrived)
		ln.arrived = nil
	}
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
			// Its slot was taken when it was submitted; it is given back
			// after the pause, while this lane goes on with its next task.
			start := time.Now()
			if ctx.Err() == nil {
				t.fn()
			}
			took := time.Since(start)
			rest := time.Duration(float64(took) * t.rest)
			if t.rest > 0 && l.active() {
				rest = activeRest(took)
			}
			l.releaseJobSlot(min(rest, maxRest))
			continue
		}
		select {
		case l.enforce <- struct{}{}:
		case <-ctx.Done():
			continue // drain without running: the inbox keeps what was not done
		}
		if ctx.Err() == nil {
			l.enforcing.Add(1)
			t.fn()
			if l.enforcing.Add(-1) == 0 {
				l.wakeYielders()
			}
		}
		<-l.enforce
	}
}

// activeRest is the pause after a task that took took while people are
// coming and going.
func activeRest(took time.Duration) time.Duration {
	return min(max(time.Duration(float64(took)*ActiveRest), ActiveMinRest), maxRest)
}

// releaseJobSlot frees a job slot once the pause after a task is over.
func (l *Lanes) releaseJobSlot(rest time.Duration) {
	if rest <= 0 {
		<-l.jobs
		return
	}
	time.AfterFunc(rest, func() { <-l.jobs })
}

// YieldToEnforcement returns once no enforcement task is running (or ctx
// ends): a long job that writes a lot (a retention sweep) calls it before
// each write, so a join's removal never queues behind the job's writes at
// the homeserver. It wakes the moment the last one ends: a sweep yields to
// the handling of its own redactions' echoes too, hundreds of times a
// minute, so a polling delay would cost it a tenth of its speed.
func (l *Lanes) YieldToEnforcement(ctx context.Context) {
	for l.enforcing.Load() > 0 {
		l.idleMu.Lock()
		if l.idle == nil {
			l.idle = make(chan struct{})
		}
		ch := l.idle
		l.idleMu.Unlock()
		if l.enforcing.Load() == 0 {
			return // ended before the channel was there to close
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

// wakeYielders releases every job waiting in YieldToEnforcement.
func (l *Lanes) wakeYielders() {
	l.idleMu.Lock()
	defer l.idleMu.Unlock()
	if l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
}

// GiveWayFor is how long after someone last came or went a job that gives
// way stays paced: joins come in bursts (a ward round, a shift change), so
// one is a sign that more are coming.
const GiveWayFor = time.Minute

// NoteActivity records that someone (not Caldicott itself) joined, was
// invited or left a room: enforcement may follow, and soon more of it.
func (l *Lanes) NoteActivity() { l.lastActive.Store(l.now().UnixNano()) }

// GiveWay paces a long job that writes back to back (a retention sweep)
// from inside a task on key's lane, while people are coming and going:
// after a write that took took, it rests ActiveRest times as long (at least
// ActiveMinRest) if anyone did in the last GiveWayFor, so the homeserver has
// headroom for the next join's removal. With nobody about it returns at
// once and the job runs at the homeserver's full speed. The rest ends early
// when a task joins key's lane: the job should then end its task (see
// Waiting) rather than hold up the room's own enforcement.
func (l *Lanes) GiveWay(ctx context.Context, key string, took time.Duration) {
	if !l.active() {
		return
	}
	var arrived chan struct{} // nil (never ready) when not on a lane
	l.mu.Lock()
	if ln := l.byKey[key]; ln != nil {
		if len(ln.tasks) > 0 {
			l.mu.Unlock()
			return // something waits already
		}
		if ln.arrived == nil {
			ln.arrived = make(chan struct{})
		}
		arrived = ln.arrived
	}
	l.mu.Unlock()
	t := time.NewTimer(activeRest(took))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-arrived:
	}
}

// Waiting reports whether tasks are queued on key's lane behind the one
// running: a long job running there should end its task and come back
// after them.
func (l *Lanes) Waiting(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln := l.byKey[key]
	return ln != nil && len(ln.tasks) > 0
}

// active reports whether anyone came or went in the last GiveWayFor.
// Active reports whether anyone joined, was invited or left within
// GiveWayFor: long jobs then go gently.
func (l *Lanes) Active() bool { return l.active() }

func (l *Lanes) active() bool {
	last := l.lastActive.Load()
	return last != 0 && l.now().Sub(time.Unix(0, last)) <= GiveWayFor
}

// SubmitAndWait queues fn on key's lane and waits until it has run.
func (l *Lanes) SubmitAndWait(ctx context.Context, key string, job bool, fn func()) {
	l.submitAndWait(ctx, key, laneTask{job: job, rest: JobRest}, fn)
}

// SubmitAndWaitJob queues a long job's task (see SubmitJob) and waits
// until it has run.
func (l *Lanes) SubmitAndWaitJob(ctx context.Context, key string, rest float64, fn func()) {
	l.submitAndWait(ctx, key, laneTask{job: true, rest: rest}, fn)
}

func (l *Lanes) submitAndWait(ctx context.Context, key string, t laneTask, fn func()) {
	done := make(chan struct{})
	t.fn = func() { defer close(done); fn() }
	l.submit(ctx, key, t)
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
