package mxlog

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	_ "modernc.org/sqlite"
)

// query runs one query with a planted argument on a real SQLite through
// dbutil, logging at trace as dbutil does for a slow query (every query here,
// so that the test does not wait a second).
func query(t *testing.T, log zerolog.Logger) string {
	t.Helper()
	var buf bytes.Buffer
	log = log.Output(&buf)
	db, err := dbutil.NewWithDialect("file::memory:", "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Log = dbutil.ZeroLogger(log, dbutil.ZeroLogSettings{TraceLogAllQueries: true})
	var name string
	if err := db.QueryRow(context.Background(), "SELECT $1", "Ottoline Quarrendon").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestGuardDropsQueryArguments: dbutil's trace line with a query's
// arguments is dropped by Guard; the logger's other trace lines are not.
func TestGuardDropsQueryArguments(t *testing.T) {
	log := zerolog.New(nil).Level(zerolog.TraceLevel)
	if logs := query(t, log); !strings.Contains(logs, "Ottoline Quarrendon") {
		t.Fatalf("dbutil no longer logs query arguments at trace; Guard's hook may be unneeded:\n%s", logs)
	}
	guarded := Guard(log)
	if logs := query(t, guarded); strings.Contains(logs, "Ottoline Quarrendon") {
		t.Errorf("a query's arguments are in the log:\n%s", logs)
	}
	var buf bytes.Buffer
	out := guarded.Output(&buf)
	out.Trace().Str("room_id", "!room:test").Msg("Transaction started")
	if !strings.Contains(buf.String(), "Transaction started") {
		t.Errorf("Guard dropped an ordinary trace line: %q", buf.String())
	}
}
