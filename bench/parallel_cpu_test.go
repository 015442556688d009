package bench_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
)

// cpuSnapshot is where the machine's CPU time had got to: all of it, and
// this test process's tree (the test with Caldicott in it, and Dendrite).
// Latency on a shared two-core machine means little if something else was
// running, so each phase reports who used the CPU.
type cpuSnapshot struct {
	at       time.Time
	busy     float64 // seconds, every CPU, since boot
	self     float64 // seconds, this process (the harness and Caldicott)
	dendrite float64 // seconds, the Dendrite this process started
}

// cpuUse is one phase's share of the machine.
type cpuUse struct {
	Phase      string  `json:"phase"`
	WallSecs   float64 `json:"wall_s"`
	BusyPct    float64 `json:"machine_busy_pct"` // of every core
	SelfSecs   float64 `json:"self_cpu_s"`
	DendSecs   float64 `json:"dendrite_cpu_s"`
	ForeignPct float64 `json:"foreign_pct"` // of every core, outside this process tree
}

const clockTicks = 100 // USER_HZ on Linux

func takeCPUSnapshot() cpuSnapshot {
	s := cpuSnapshot{at: time.Now()}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 8 { // idle, iowait, guest (already in user)
				continue
			}
			n, _ := strconv.ParseFloat(v, 64)
			s.busy += n / clockTicks
		}
	}
	// This process and its descendants, by parent.
	children := map[int][]int{}
	cpu := map[int]float64{}
	reaped := map[int]float64{} // children's time, once they exited and were waited for
	comm := map[int]string{}
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		open, end := strings.IndexByte(string(data), '('), strings.LastIndexByte(string(data), ')')
		if open < 0 || end < open {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data[:open])))
		rest := strings.Fields(string(data[end+1:])) // state ppid … utime(12) stime(13)
		if len(rest) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(rest[1])
		ut, _ := strconv.ParseFloat(rest[11], 64)
		st, _ := strconv.ParseFloat(rest[12], 64)
		cut, _ := strconv.ParseFloat(rest[13], 64)
		cst, _ := strconv.ParseFloat(rest[14], 64)
		children[ppid] = append(children[ppid], pid)
		cpu[pid] = (ut + st) / clockTicks
		reaped[pid] = (cut + cst) / clockTicks
		comm[pid] = string(data[open+1 : end])
	}
	me := os.Getpid()
	s.self = cpu[me]
	queue := children[me]
	for len(queue) > 0 {
		pid := queue[0]
		queue = append(queue[1:], children[pid]...)
		if comm[pid] == "dendrite" {
			s.dendrite += cpu[pid]
		} else {
			s.self += cpu[pid]
		}
	}
	// Dendrite on PostgreSQL (dendriteDBEnv): the cluster runs detached
	// from this process, and its time is the homeserver's.
	if pg := testenv.PostgresPID(); pg != 0 {
		// PostgreSQL starts a process per connection, and Dendrite opens
		// and closes connections all the time: count the ones gone too.
		s.dendrite += reaped[pg]
		queue = []int{pg}
		for len(queue) > 0 {
			pid := queue[0]
			queue = append(queue[1:], children[pid]...)
			s.dendrite += cpu[pid]
		}
	}
	return s
}

// cpuSince is the machine's use between a snapshot and now.
func cpuSince(phase string, from cpuSnapshot, cores int) cpuUse {
	to := takeCPUSnapshot()
	wall := to.at.Sub(from.at).Seconds()
	busy := to.busy - from.busy
	self, dend := to.self-from.self, to.dendrite-from.dendrite
	return cpuUse{
		Phase: phase, WallSecs: wall,
		BusyPct:    100 * busy / (wall * float64(cores)),
		SelfSecs:   self,
		DendSecs:   dend,
		ForeignPct: 100 * max(busy-self-dend, 0) / (wall * float64(cores)),
	}
}

// waitForQuietMachine waits (up to within) until, for five seconds,
// processes outside this test use under a tenth of the machine, so that a
// shared machine's other work does not pass for Caldicott's latency. With
// idle, it waits until the whole machine is that quiet, this test's
// Dendrite included (after a thousand rooms are made, Dendrite works off
// its push-notification backlog for minutes).
//
// -bench.quiet-max (a duration) shortens the wait, for a trial run
// beside other work (for its profiles, say): its figures are then not
// clean, and the report says so.
func waitForQuietMachine(t *testing.T, within time.Duration, idle bool) {
	t.Helper()
	if *flagQuietMax > 0 {
		within = min(within, *flagQuietMax)
	}
	cores := runtime.NumCPU()
	began := time.Now()
	lastSaid := time.Time{}
	for {
		snap := takeCPUSnapshot()
		time.Sleep(5 * time.Second)
		use := cpuSince("", snap, cores)
		busy, who := use.ForeignPct, "other processes"
		if idle {
			busy, who = use.BusyPct, "the machine (Dendrite included)"
		}
		if busy < 10 {
			if time.Since(began) > 10*time.Second {
				t.Logf("quiet after %s", time.Since(began).Round(time.Second))
			}
			return
		}
		if time.Since(began) > within {
			t.Logf("%s still at %.0f%% after %s; measuring anyway", who, busy, within)
			return
		}
		if time.Since(lastSaid) > time.Minute {
			t.Logf("waiting for a quiet machine: %s at %.0f%% (Dendrite %.1f CPU-s in 5 s)", who, busy, use.DendSecs)
			lastSaid = time.Now()
		}
	}
}

// profileDendrite fetches a CPU profile of Dendrite in the background when
// Dendrite was started with PPROFLISTEN (it inherits the test's
// environment) and -bench.keep names where to put it; the
// returned func waits for it.
func profileDendrite(t *testing.T, name string, seconds int) (wait func()) {
	t.Helper()
	addr, dir := os.Getenv("PPROFLISTEN"), *flagKeepDir
	if addr == "" || dir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds))
		if err != nil {
			t.Logf("profile Dendrite: %v", err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
		}
		if err != nil {
			t.Logf("profile Dendrite: %v", err)
		}
	}()
	return func() { <-done }
}
