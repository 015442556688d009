package bench_test

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv/trust"
	"maunium.net/go/mautrix/id"
)

// memSample is the test process's Go heap at one moment (Caldicott runs
// in it, beside the harness) and how far the sweep had got.
type memSample struct {
	At         time.Time `json:"at"`
	Swept      int64     `json:"swept"` // redactions in the big room so far
	HeapInuse  uint64    `json:"heap_inuse"`
	HeapAlloc  uint64    `json:"heap_alloc"`
	LiveHeap   uint64    `json:"live_heap"` // marked live by the last GC
	Goroutines int       `json:"goroutines"`
	NumGC      uint32    `json:"num_gc"`
}

// memoryWatch samples the heap every second until stopped.
type memoryWatch struct {
	mu      sync.Mutex
	samples []memSample
	stop    chan struct{}
	done    chan struct{}
}

// watchMemory starts sampling; swept reads the sweep's progress in room.
func watchMemory(t *testing.T, tr *trust.Trust, room id.RoomID) *memoryWatch {
	t.Helper()
	w := &memoryWatch{stop: make(chan struct{}), done: make(chan struct{})}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			metrics.Read(live)
			s := memSample{At: time.Now(), HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc, Goroutines: runtime.NumGoroutine(), NumGC: ms.NumGC}
			if live[0].Value.Kind() == metrics.KindUint64 {
				s.LiveHeap = live[0].Value.Uint64()
			}
			if st, err := tr.Store.SweepStateOf(ctx, room.String()); err == nil {
				s.Swept = st.Redacted
			}
			w.mu.Lock()
			w.samples = append(w.samples, s)
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Snapshot is the samples so far, while sampling goes on.
func (w *memoryWatch) Snapshot() []memSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.samples)
}

func (w *memoryWatch) Stop() []memSample {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// memorySummary: the heap at the start of the sweep, its largest and at
// the end, and how the live heap moved with the events swept.
type memorySummary struct {
	Samples   int        `json:"samples"`
	Swept     int64      `json:"swept"`
	Secs      float64    `json:"secs"`
	InuseMiB  [3]float64 `json:"heap_inuse_mib"` // start, max, end
	AllocMiB  [3]float64 `json:"heap_alloc_mib"`
	LiveMiB   [3]float64 `json:"live_heap_mib"`
	Goroutine [3]float64 `json:"goroutines"`
	// LivePer10k is the least-squares slope of the live heap against
	// events swept, in KiB per 10,000 events: about zero when flat.
	LivePer10k float64 `json:"live_kib_per_10k_events"`
	// Quarters: the largest live heap in each quarter of the sweep (by
	// events swept), MiB.
	Quarters [4]float64 `json:"live_max_by_quarter_mib"`
}

func summarizeMemory(samples []memSample, base int64) memorySummary {
	var s memorySummary
	if len(samples) == 0 {
		return s
	}
	const mib = 1 << 20
	first, last := samples[0], samples[len(samples)-1]
	s.Samples, s.Swept, s.Secs = len(samples), last.Swept-base, last.At.Sub(first.At).Seconds()
	s.InuseMiB = [3]float64{float64(first.HeapInuse) / mib, 0, float64(last.HeapInuse) / mib}
	s.AllocMiB = [3]float64{float64(first.HeapAlloc) / mib, 0, float64(last.HeapAlloc) / mib}
	s.LiveMiB = [3]float64{float64(first.LiveHeap) / mib, 0, float64(last.LiveHeap) / mib}
	s.Goroutine = [3]float64{float64(first.Goroutines), 0, float64(last.Goroutines)}
	var n, sx, sy, sxx, sxy float64
	for _, m := range samples {
		s.InuseMiB[1] = max(s.InuseMiB[1], float64(m.HeapInuse)/mib)
		s.AllocMiB[1] = max(s.AllocMiB[1], float64(m.HeapAlloc)/mib)
		s.LiveMiB[1] = max(s.LiveMiB[1], float64(m.LiveHeap)/mib)
		s.Goroutine[1] = max(s.Goroutine[1], float64(m.Goroutines))
		x, y := float64(m.Swept-base), float64(m.LiveHeap)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
		if s.Swept > 0 {
			q := min(int(4*(m.Swept-base)/max(s.Swept, 1)), 3)
			s.Quarters[q] = max(s.Quarters[q], float64(m.LiveHeap)/mib)
		}
	}
	if d := n*sxx - sx*sx; d > 0 {
		s.LivePer10k = (n*sxy - sx*sy) / d * 10000 / 1024
	}
	return s
}

// writeHeapProfile saves the test process's heap (after a GC, so it shows
// what is live) to dir/name: the profile at the start of the big sweep
// and the latest during it, diffed with `go tool pprof -base`, say what
// grew. Nothing is written without a keep directory.
func writeHeapProfile(t *testing.T, dir, name string) {
	t.Helper()
	if dir == "" {
		return
	}
	runtime.GC()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Logf("heap profile: %v", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Logf("heap profile: %v", err)
	}
}
