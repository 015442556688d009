package bench_test

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The gatekeeper's load generator: clients on loopback, each sending one
// request after another for a while, keep-alive as a client's are.

// loadResult is what one run of clients measured.
type loadResult struct {
	// Took is each request's time from send to the last byte of the answer
	// (kept only when asked).
	Took []time.Duration
	// N is the requests answered as expected, Errors the rest (a transport
	// error or another status).
	N, Errors int
	Elapsed   time.Duration
}

func (r *loadResult) add(o loadResult) {
	r.Took = append(r.Took, o.Took...)
	r.N += o.N
	r.Errors += o.Errors
	r.Elapsed += o.Elapsed
}

// rps is requests answered as expected per second.
func (r loadResult) rps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N) / r.Elapsed.Seconds()
}

// quantileMicros is the q-quantile (0..1) of the requests' times, in µs.
func (r loadResult) quantileMicros(q float64) float64 {
	if len(r.Took) == 0 {
		return 0
	}
	t := slices.Clone(r.Took)
	slices.Sort(t)
	return float64(t[min(int(q*float64(len(t))), len(t)-1)].Microseconds())
}

// loadRequest builds one request: method, URL and body; want is the
// status that counts as answered.
type loadRequest struct {
	method, url string
	body        []byte
	want        int
}

// loadClient is the HTTP client of every load run: a pool large enough
// that each simulated client keeps its connection.
var loadClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

// runLoad runs clients, each sending next(client, i) one after another,
// for d; keep: record every request's time.
func runLoad(clients int, d time.Duration, token string, keep bool, next func(client, i int) loadRequest) loadResult {
	results := make([]loadResult, clients)
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[c]
			for i := 0; time.Now().Before(stop); i++ {
				lr := next(c, i)
				began := time.Now()
				ok := sendOne(lr, token)
				took := time.Since(began)
				if !ok {
					r.Errors++
					continue
				}
				r.N++
				if keep {
					r.Took = append(r.Took, took)
				}
			}
		}()
	}
	wg.Wait()
	total := loadResult{}
	for _, r := range results {
		total.add(r)
	}
	total.Elapsed = time.Since(start)
	return total
}

func sendOne(lr loadRequest, token string) bool {
	req, err := http.NewRequest(lr.method, lr.url, bytes.NewReader(lr.body))
	if err != nil {
		return false
	}
	if lr.body == nil {
		req.Body = nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := loadClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == lr.want
}

// heapSampler samples the heap in use (and goroutines) every interval
// until stopped.
type heapSampler struct {
	HeapMiB    []float64
	Goroutines []int
	stop       chan struct{}
	done       chan struct{}
}

func sampleHeap(every time.Duration) *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			s.HeapMiB = append(s.HeapMiB, float64(m.HeapInuse)/(1<<20))
			s.Goroutines = append(s.Goroutines, runtime.NumGoroutine())
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) finish() {
	close(s.stop)
	<-s.done
}

// heapAfterGC is the heap in use once garbage is collected: what is
// retained.
func heapAfterGC() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// txnIDs makes transaction IDs unique across the run's clients.
var txnIDs atomic.Int64
