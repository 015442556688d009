package directory

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// BenchmarkLDAPSync100k: a full sync of 100,000 entries from slapd into an
// empty directory ("first"), then the same sync again with nothing changed
// ("resync", what every later sync mostly is), on SQLite and PostgreSQL.
// Target: under 60 s with bounded memory. Run with -benchtime 1x.
func BenchmarkLDAPSync100k(b *testing.B) {
	const n = 100_000
	base := "dc=trust-a,dc=nhs,dc=uk"
	var ldif strings.Builder
	for i := 0; i < n; i++ {
		ldif.WriteString(testenv.PersonLDIF(base, fmt.Sprintf("user%d", i), fmt.Sprintf("Person %d", i), "Staff Nurse", "Ward 7", "", "active"))
	}
	slapd := testenv.StartSlapd(b, ldif.String())
	cfg := ldapConfig(slapd, 1000)
	engines := map[string]func(testing.TB) *store.Store{"sqlite": openStore, "postgres": openPostgres}
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				st := engines[engine](b)
				for _, pass := range []struct {
					name  string
					added int
				}{{"first", n}, {"resync", 0}} {
					m := measureSync(b, st, func() {
						res, _, err := SyncLDAP(context.Background(), st, cfg, ownServer, time.Time{}, guard, false)
						if err != nil || res.Added != pass.added || res.Removed != 0 {
							b.Fatalf("%s sync: %+v %v", pass.name, res, err)
						}
					})
					m.report(b, pass.name)
				}
			}
		})
	}
}

func openPostgres(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Postgres, testenv.Postgres(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// syncCost is what one sync cost: wall time, the heap's peak of live and
// not yet collected objects while it ran (sampled every 5 ms), the heap in
// use after it, and all it allocated; and, for what it does to others, the
// longest a one-row write made every 50 ms beside it (as the leader's lease
// renewal is) took, and how many such writes failed.
type syncCost struct {
	wall, longestWrite     time.Duration
	peak, after, allocated uint64
	failedWrites           int
}

func (c syncCost) report(b *testing.B, pass string) {
	const mib = 1 << 20
	b.ReportMetric(c.wall.Seconds(), "s/"+pass)
	b.ReportMetric(float64(c.peak)/mib, "MiB-peak/"+pass)
	b.ReportMetric(float64(c.after)/mib, "MiB-heap-after/"+pass)
	b.ReportMetric(float64(c.allocated)/mib, "MiB-allocated/"+pass)
	b.ReportMetric(c.longestWrite.Seconds(), "s-longest-write/"+pass)
	b.ReportMetric(float64(c.failedWrites), "failed-writes/"+pass)
}

func measureSync(b *testing.B, st *store.Store, run func()) syncCost {
	b.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peak := sampleHeapPeak(stop)
	writes := probeWrites(st, stop)
	start := time.Now()
	run()
	wall := time.Since(start)
	close(stop)
	runtime.ReadMemStats(&after)
	c := syncCost{wall: wall, peak: peak(), after: after.HeapInuse, allocated: after.TotalAlloc - before.TotalAlloc}
	c.longestWrite, c.failedWrites = writes()
	return c
}

// probeWrites writes one row every 50 ms until stop closes; the function it
// returns waits for the prober and gives the longest write and the failures.
func probeWrites(st *store.Store, stop chan struct{}) func() (time.Duration, int) {
	var longest time.Duration
	failed := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			start := time.Now()
			if err := st.SetKV(context.Background(), "bench_probe", fmt.Sprint(i)); err != nil {
				failed++
			}
			longest = max(longest, time.Since(start))
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() (time.Duration, int) { wg.Wait(); return longest, failed }
}

// sampleHeapPeak samples the heap's objects until stop closes; the function
// it returns waits for the sampler and gives the highest sample.
func sampleHeapPeak(stop chan struct{}) func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { wg.Wait(); return peak }
}
