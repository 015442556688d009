package bench_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssWatch samples this process's resident memory (Caldicott runs in it,
// beside the harness) twice a second, keeping the most seen per phase.
type rssWatch struct {
	mu    sync.Mutex
	phase string
	max   map[string]float64
	done  chan struct{}
}

func watchRSS() *rssWatch {
	w := &rssWatch{max: map[string]float64{}, done: make(chan struct{})}
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			mb := rssMB()
			w.mu.Lock()
			w.max[w.phase] = max(w.max[w.phase], mb)
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *rssWatch) stop() { close(w.done) }

func (w *rssWatch) setPhase(p string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = p
	w.max[p] = 0 // each step measures afresh
}

func (w *rssWatch) maxOf(p string) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.max[p]
}

// maxOverall is the most seen in any phase since the phases were last set.
func (w *rssWatch) maxOverall() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := 0.0
	for _, v := range w.max {
		m = max(m, v)
	}
	return m
}

// rssMB is this process's resident memory (VmRSS), in MiB.
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// load1 is the machine's one-minute load average.
func load1() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }

func pprofHeap(w io.Writer) error { return pprof.Lookup("heap").WriteTo(w, 0) }

// profile takes a CPU profile of this process (Caldicott's work) into
// -bench.keep until the returned func is called.
func (m *stepMeasure) profile(name string) (stop func()) {
	keep := *flagKeepDir
	if keep == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(keep, name+"-"+itoa(m.step.Rooms)+".pprof"))
	if err != nil {
		m.t.Logf("profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		m.t.Logf("profile: %v", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
