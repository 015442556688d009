package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func openSQL(t testing.TB, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Every table the schemas make — the store's migrations (whatever their
// number, a new one included), the crypto store's and the state store's —
// is copied row for row, and the copy is a working Caldicott database: the
// audit chain verifies, and new rows take keys after the copied ones.
func TestCopyEverything(t *testing.T) {
	ctx := context.Background()
	src := trialDatabase(t, 20, 300)
	if unfilled := fillEmptyTables(t, src); len(unfilled) > 0 {
		t.Logf("tables compared empty (no generic row fits them): %v", unfilled)
	}
	// Rows removed from the inbox's end: its AUTOINCREMENT counter is past
	// the largest key left, and PostgreSQL must not reuse those keys.
	srcDB := openSQL(t, "sqlite", "file:"+src+"?mode=rw")
	if _, err := srcDB.Exec(`DELETE FROM inbox WHERE seq > 3`); err != nil {
		t.Fatal(err)
	}
	dst := testenv.Postgres(t)
	rep, err := Copy(ctx, Options{From: src, To: dst})
	if err != nil {
		t.Fatal(err)
	}
	// The source is marked as moved; that row aside, it must equal the copy.
	if res, err := srcDB.Exec(`DELETE FROM kv WHERE key = ?`, store.MovedKey); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("the source was not marked as moved")
	}
	if rep.Audit.Entries != int64(300+countAuditFromFill(t, srcDB)) || len(rep.Audit.Problems) > 0 {
		t.Errorf("audit check after the copy: %+v", rep.Audit)
	}
	dstDB := openSQL(t, "postgres", dst)
	copied := map[string]int64{}
	for _, tb := range rep.Tables {
		copied[tb.Name] = tb.Rows
	}
	// The schema as the source's migrations made it: every table must be
	// in the report and hold the same rows in the target.
	nonEmpty := 0
	for _, table := range sqliteTables(t, srcDB) {
		if isVersionTable(table) {
			continue
		}
		n, ok := copied[table]
		if !ok {
			t.Errorf("table %s is in the schema but was not copied", table)
			continue
		}
		cols := sqliteColumns(t, srcDB, table)
		want, got := tableRows(t, srcDB, table, cols), tableRows(t, dstDB, table, cols)
		if !slices.Equal(want, got) {
			t.Errorf("table %s differs after the copy:\nsource %v\ntarget %v", table, want, got)
		}
		if int64(len(want)) != n {
			t.Errorf("table %s: report says %d rows, source has %d", table, n, len(want))
		}
		if n > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 20 {
		t.Errorf("only %d tables had rows to compare; the fixture should fill most", nonEmpty)
	}
	checkWorkingCopy(t, dst)
}

// countAuditFromFill is how many audit entries the fixture's other writes
// (holds, attestations) appended besides the ones it counted.
func countAuditFromFill(t testing.TB, db *sql.DB) int {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n - 300
}

// checkWorkingCopy opens the copy as Caldicott does and writes to it.
func checkWorkingCopy(t *testing.T, dst string) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Postgres, dst, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := st.VerifyAudit(ctx)
	if err != nil || len(r.Problems) > 0 {
		t.Fatalf("audit verify on the copy: %v %v", err, r.Problems)
	}
	e, err := st.AppendAudit(ctx, store.AuditEntry{Actor: "@caldicott:a.test", Action: "test", Detail: "{}"})
	if err != nil || e.Seq != r.HeadSeq+1 {
		t.Fatalf("append after the copy: entry %d, %v (head was %d)", e.Seq, err, r.HeadSeq)
	}
	if _, err := st.IngestTransaction(ctx, "txn-after", []store.InboxEvent{{EventID: "$after", RoomID: "!r:a.test", Type: "m.room.message", JSON: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := st.DB().QueryRow(ctx, `SELECT seq FROM inbox WHERE event_id = '$after'`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != 6 { // five ingested, two removed from the end: 6 is next, as on SQLite
		t.Errorf("the inbox's next key after the copy is %d, want 6 (SQLite's counter)", seq)
	}
	if holds, err := st.Holds(ctx); err != nil || len(holds) != 1 {
		t.Errorf("holds after the copy: %v %v", holds, err)
	}
	if lh, err := st.LegalHolds(ctx); err != nil || len(lh) != 2 {
		t.Errorf("legal holds after the copy: %d %v", len(lh), err)
	}
	if v, ok, err := st.KV(ctx, "bot_cross_signing_seeds"); err != nil || !ok || v != "sealed" {
		t.Errorf("the bot's sealed cross-signing keys after the copy: %q %v %v", v, ok, err)
	}
}

// While a Caldicott process has the SQLite database open the copy is
// refused; while the copy runs Caldicott cannot open it.
func TestRefusesWhileCaldicottHasItOpen(t *testing.T) {
	ctx := context.Background()
	src := trialDatabase(t, 2, 5)
	dst := testenv.Postgres(t)
	running, err := store.Open(ctx, store.SQLite, src, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Copy(ctx, Options{From: src, To: dst})
	running.Close()
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "stop Caldicott") {
		t.Fatalf("copy while Caldicott has the database open: %v", err)
	}
	assertNoTables(t, dst)
	var openErr error
	_, err = Copy(ctx, Options{From: src, To: dst, Progress: func(string, int64) {
		if openErr == nil {
			st, err := store.Open(ctx, store.SQLite, src, 1)
			if err == nil {
				st.Close()
				err = errors.New("opened")
			}
			openErr = err
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(openErr, store.ErrInUse) || !strings.Contains(openErr.Error(), "db migrate") {
		t.Fatalf("Caldicott opening the database during the copy: %v", openErr)
	}
}

// A target that already holds Caldicott's data is refused, named, and
// left as it was.
func TestRefusesNonEmptyTarget(t *testing.T) {
	ctx := context.Background()
	src := trialDatabase(t, 2, 5)
	dst := testenv.Postgres(t)
	if _, err := Copy(ctx, Options{From: src, To: dst}); err != nil {
		t.Fatal(err)
	}
	dstDB := openSQL(t, "postgres", dst)
	before := tableRows(t, dstDB, "audit_log", []string{"seq", "hash"})
	_, err := Copy(ctx, Options{From: trialDatabase(t, 2, 5), To: dst})
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "audit_log (") {
		t.Fatalf("second copy into the same database: %v", err)
	}
	if after := tableRows(t, dstDB, "audit_log", []string{"seq", "hash"}); !slices.Equal(before, after) {
		t.Errorf("the refused copy changed the target's audit log")
	}
}

// Cancelled part way, the copy leaves the target without even its schema,
// and running it again succeeds.
func TestCancelledCopyLeavesTargetEmpty(t *testing.T) {
	src := trialDatabase(t, 50, 2000)
	dst := testenv.Postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	var seen []string
	_, err := Copy(ctx, Options{From: src, To: dst, Progress: func(table string, rows int64) {
		seen = append(seen, table)
		if table == "audit_head" { // the audit log comes next
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled copy: %v (tables done: %v)", err, seen)
	}
	assertNoTables(t, dst)
	rep, err := Copy(context.Background(), Options{From: src, To: dst})
	if err != nil {
		t.Fatalf("copy again after the cancelled one: %v", err)
	}
	if rep.Audit.Entries < 2000 {
		t.Errorf("audit entries after the second copy: %d", rep.Audit.Entries)
	}
}

// After the copy the SQLite database is marked as moved: Caldicott will not
// open it, nor db migrate copy it again, until the mark is removed.
func TestMarksTheSourceMoved(t *testing.T) {
	ctx := context.Background()
	src := trialDatabase(t, 2, 5)
	if _, err := Copy(ctx, Options{From: src, To: testenv.Postgres(t) + "&password=secret"}); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(ctx, store.SQLite, src, 1)
	if !errors.Is(err, store.ErrMoved) || !strings.Contains(err.Error(), "database.type: postgres") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Caldicott opening the moved database: %v", err)
	}
	again := testenv.Postgres(t)
	if _, err := Copy(ctx, Options{From: src, To: again}); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "copied to PostgreSQL before") {
		t.Fatalf("copying the moved database again: %v", err)
	}
	assertNoTables(t, again)
	db := openSQL(t, "sqlite", "file:"+src+"?mode=rw")
	if _, err := db.Exec(`DELETE FROM kv WHERE key = ?`, store.MovedKey); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Copy(ctx, Options{From: src, To: again}); err != nil {
		t.Fatalf("copying again once the mark is removed: %v", err)
	}
}

func assertNoTables(t *testing.T, dst string) {
	t.Helper()
	if tables := pgTables(t, openSQL(t, "postgres", dst)); len(tables) > 0 {
		t.Fatalf("the target has tables after a failed copy: %v", tables)
	}
}

// An audit log edited in the source does not verify in the copy, and the
// copy is not committed.
func TestRefusesBrokenAuditChain(t *testing.T) {
	ctx := context.Background()
	src := trialDatabase(t, 2, 20)
	st, err := store.Open(ctx, store.SQLite, src, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = audittamper.Run(ctx, st, `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 7`)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	dst := testenv.Postgres(t)
	_, err = Copy(ctx, Options{From: src, To: dst})
	if !errors.Is(err, ErrAuditChain) || !strings.Contains(err.Error(), "entry 7") {
		t.Fatalf("copy of an edited audit log: %v", err)
	}
	assertNoTables(t, dst)
}

// Sources that cannot be copied are refused with what to do.
func TestRefusesBadSources(t *testing.T) {
	ctx := context.Background()
	dst := testenv.Postgres(t)
	dir := t.TempDir()
	old := trialDatabase(t, 1, 1)
	db := openSQL(t, "sqlite", "file:"+old+"?mode=rw")
	if _, err := db.Exec(`UPDATE caldicott_version SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	notOurs := dir + "/other.db"
	other := openSQL(t, "sqlite", "file:"+notOurs)
	if _, err := other.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	other.Close()
	for _, tc := range []struct {
		name, from string
		want       error
		says       string
	}{
		{"missing", dir + "/nothing.db", ErrSource, "cannot read"},
		{"not Caldicott's", notOurs, ErrSource, "not a Caldicott database"},
		{"older schema", old, ErrSchemaVersion, "start Caldicott once on the SQLite database to upgrade it, stop it, then migrate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Copy(ctx, Options{From: tc.from, To: dst})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
	assertNoTables(t, dst)
}

func TestRefusesUnreachableTarget(t *testing.T) {
	src := trialDatabase(t, 1, 1)
	port := testenv.FreePort(t, "127.0.0.1")
	_, err := Copy(context.Background(), Options{From: src, To: fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", port)})
	if !errors.Is(err, ErrTarget) || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("unreachable target: %v", err)
	}
}

func TestDependenciesFirst(t *testing.T) {
	for _, tc := range []struct {
		names []string
		deps  map[string][]string
		want  []string
	}{
		{[]string{"a", "b"}, nil, []string{"a", "b"}},
		{[]string{"a_hash", "b_account"}, map[string][]string{"a_hash": {"b_account"}}, []string{"b_account", "a_hash"}},
		{[]string{"x", "y"}, map[string][]string{"x": {"y"}, "y": {"x"}}, []string{"y", "x"}},
	} {
		if got := dependenciesFirst(tc.names, tc.deps); !slices.Equal(got, tc.want) {
			t.Errorf("dependenciesFirst(%v, %v) = %v, want %v", tc.names, tc.deps, got, tc.want)
		}
	}
}
