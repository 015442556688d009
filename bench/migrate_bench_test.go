package bench_test

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
	"github.com/caldicott/caldicott/store/dbcopy"
)

var flagMigrateAudit = flag.Int("bench.migrate-audit", 100000, "db migrate: audit entries in the trial database (rooms: -bench.rooms)")

// BenchmarkDBMigrate times `caldicott db migrate` (dbcopy.Copy) of a trial
// database with -bench.rooms rooms (each with its policy, members, sweep
// state and review; a tenth with a legal hold and a record waiting) and
// -bench.migrate-audit audit entries, into a throwaway PostgreSQL, and
// samples this process's heap every 5 ms while it copies: the copy streams
// rows, so its memory should not grow with the database.
func BenchmarkDBMigrate(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a database of -bench.migrate-audit audit entries first")
	}
	src := migrateTrialDatabase(b, *flagRooms, *flagMigrateAudit)
	for i := 0; b.Loop(); i++ {
		dst := testenv.Postgres(b)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		peak := samplePeakHeap()
		start := time.Now()
		rep, err := dbcopy.Copy(context.Background(), dbcopy.Options{From: src, To: dst})
		elapsed := time.Since(start)
		maxHeap := peak()
		if err != nil {
			b.Fatal(err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		var rows int64
		for _, t := range rep.Tables {
			rows += t.Rows
		}
		b.ReportMetric(elapsed.Seconds(), "s/migrate")
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(float64(maxHeap-min(maxHeap, before.HeapInuse))/(1<<20), "MiB-heap-growth")
		b.ReportMetric(float64(maxHeap)/(1<<20), "MiB-peak-heap")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "MiB-allocated")
		b.Logf("run %d: %d tables, %d rows, audit %d entries, %s; heap in use %.1f MiB before, peak %.1f MiB",
			i, len(rep.Tables), rows, rep.Audit.Entries, elapsed.Round(time.Millisecond), float64(before.HeapInuse)/(1<<20), float64(maxHeap)/(1<<20))
	}
}

// samplePeakHeap samples HeapInuse until the returned function is called,
// which returns the largest value seen.
func samplePeakHeap() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// migrateTrialDatabase fills a SQLite database through the store, in one
// transaction, as a trial of that size would leave it.
func migrateTrialDatabase(b *testing.B, rooms, audit int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "caldicott.db")
	st, err := store.Open(ctx, store.SQLite, path, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	err = st.DB().DoTxn(ctx, nil, func(ctx context.Context) error {
		for i := range rooms {
			if err := migrateFillRoom(ctx, st, i); err != nil {
				return err
			}
		}
		for i := range audit {
			e := store.AuditEntry{Actor: "@caldicott:a.test", RoomID: fmt.Sprintf("!room%d:a.test", i%rooms), Action: "kick", Reason: "not in the directory", Detail: fmt.Sprintf(`{"user":"@u%d:a.test"}`, i)}
			if _, err := st.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d rooms and %d audit entries in %s", rooms, audit, time.Since(start).Round(time.Millisecond))
	return path
}

func migrateFillRoom(ctx context.Context, st *store.Store, i int) error {
	room := fmt.Sprintf("!room%d:a.test", i)
	if err := st.SaveRoomPolicy(ctx, store.RoomPolicy{RoomID: room, Class: "clinical", Compliant: true, ClassifiedBy: "@ig:a.test"}); err != nil {
		return err
	}
	members := store.Members{}
	for m := range 10 {
		members[fmt.Sprintf("@staff%d:a.test", (i*7+m)%5000)] = fmt.Sprintf("Staff %d", m)
	}
	if err := st.SaveRoomMembers(ctx, room, members); err != nil {
		return err
	}
	if err := st.SaveSweepState(ctx, store.SweepState{RoomID: room, Cursor: fmt.Sprintf("t%d", i), Redacted: int64(i)}); err != nil {
		return err
	}
	if err := st.EnsureReview(ctx, room, 90*24*time.Hour); err != nil {
		return err
	}
	if i%10 != 0 {
		return nil
	}
	if err := st.AddLegalHold(ctx, store.LegalHold{RoomID: room, Reason: "inquest", HeldBy: "@ig:a.test"}); err != nil {
		return err
	}
	_, err := st.AddRecord(ctx, store.PatientRecord{RoomID: room, EventID: fmt.Sprintf("$ev%d", i), CommandID: fmt.Sprintf("$cmd%d", i), RecordedBy: "@dr:a.test", State: "pending", Payload: "{}"})
	return err
}
