package dbcopy

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// tableRows is a table's rows as comparable strings, sorted: the same
// values read from SQLite and PostgreSQL give the same strings.
func tableRows(t testing.TB, db *sql.DB, table string, cols []string) []string {
	t.Helper()
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	rows, err := db.Query("SELECT " + strings.Join(quoted, ", ") + " FROM " + quote(table))
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = normalise(v)
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func normalise(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []byte:
		return fmt.Sprintf("%x", x)
	case string:
		// CHAR(n) pads on PostgreSQL; blobs SQLite kept as text compare as bytes.
		return fmt.Sprintf("%x", strings.TrimRight(x, " "))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}

// sqliteColumns are a SQLite table's columns.
func sqliteColumns(t testing.TB, db *sql.DB, table string) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
}

// pgTables are the tables of a PostgreSQL database's current schema.
func pgTables(t testing.TB, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
}

// queryStrings is the one text column of a query's rows.
func queryStrings(t testing.TB, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
