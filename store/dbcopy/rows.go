package dbcopy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.mau.fi/util/dbutil"
)

// ctxCheckEvery is how many rows pass between checks that the copy has not
// been cancelled (the COPY stream itself does not look at the context).
const ctxCheckEvery = 1000

// copyTable streams one table's rows from the source into the target with
// COPY, inside the target's transaction, and returns how many it copied.
// Every column of the target's table must be in the source's and the other
// way round: a column either side lacks would be data lost or made up.
func copyTable(ctx context.Context, src *source, tgt *target, table string) (int64, error) {
	cols, err := tgt.columns(ctx, table)
	if err != nil {
		return 0, err
	}
	srcCols, err := src.columns(ctx, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		if !srcCols[c.name] {
			return 0, fmt.Errorf("%w: %s.%s is in this Caldicott's schema but not in the source", ErrSchemaVersion, table, c.name)
		}
		delete(srcCols, c.name)
		names[i] = quote(c.name)
	}
	if len(srcCols) > 0 {
		return 0, fmt.Errorf("%w: %s has columns %v in the source that this Caldicott's schema does not", ErrSchemaVersion, table, sortedKeys(srcCols))
	}
	txn, ok := tgt.db.Execable(ctx).(*dbutil.LoggingTxn)
	if !ok {
		return 0, fmt.Errorf("%w: copy %s outside the target's transaction", ErrCopy, table)
	}
	list := strings.Join(names, ", ")
	stmt, err := txn.UnderlyingTx.PrepareContext(ctx, "COPY "+quote(table)+" ("+list+") FROM STDIN")
	if err != nil {
		return 0, fmt.Errorf("%w: start copying %s: %w", ErrCopy, table, err)
	}
	defer stmt.Close()
	rows, err := src.conn.QueryContext(ctx, "SELECT "+list+" FROM "+quote(table))
	if err != nil {
		return 0, fmt.Errorf("%w: read %s: %w", ErrSource, table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if n%ctxCheckEvery == 0 && ctx.Err() != nil {
			return n, fmt.Errorf("%w: %s: %w", ErrCopy, table, ctx.Err())
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("%w: read %s: %w", ErrSource, table, err)
		}
		for i, c := range cols {
			vals[i] = convert(vals[i], c.dataType)
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("%w: %s row %d: %w", ErrCopy, table, n+1, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("%w: read %s: %w", ErrSource, table, err)
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return n, fmt.Errorf("%w: finish copying %s: %w", ErrCopy, table, err)
	}
	return n, nil
}

// convert turns a value as SQLite holds it into what the PostgreSQL
// column takes: SQLite has no boolean (0 and 1) and keeps text and blobs
// loosely, so a value is made the column's kind; COPY writes []byte as
// bytea and everything else as text.
func convert(v any, pgType string) any {
	switch pgType {
	case "boolean":
		switch b := v.(type) {
		case int64:
			return b != 0
		case float64:
			return b != 0
		}
	case "bytea":
		if s, ok := v.(string); ok {
			return []byte(s)
		}
	default:
		if b, ok := v.([]byte); ok {
			return string(b)
		}
	}
	return v
}

// resetSequences sets every sequence behind an identity or serial column
// past the largest key copied (or past SQLite's AUTOINCREMENT counter, if
// that is further), so the next row PostgreSQL numbers does not collide
// with a copied one or reuse a key handed out before.
func resetSequences(ctx context.Context, tgt *target, autoinc map[string]int64) error {
	rows, err := tgt.db.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)
	if err != nil {
		return fmt.Errorf("%w: list sequences: %w", ErrTarget, err)
	}
	type seqCol struct{ table, column string }
	var seqs []seqCol
	for rows.Next() {
		var s seqCol
		if err := rows.Scan(&s.table, &s.column); err != nil {
			rows.Close()
			return fmt.Errorf("%w: list sequences: %w", ErrTarget, err)
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: list sequences: %w", ErrTarget, err)
	}
	for _, s := range seqs {
		var last int64
		q := "SELECT COALESCE(MAX(" + quote(s.column) + "), 0) FROM " + quote(s.table)
		if err := tgt.db.QueryRow(ctx, q).Scan(&last); err != nil {
			return fmt.Errorf("%w: largest %s.%s: %w", ErrTarget, s.table, s.column, err)
		}
		last = max(last, autoinc[s.table])
		// setval(…, 1, false): the next key is 1, as in a new table.
		_, err := tgt.db.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), GREATEST($3::bigint, 1), $3::bigint > 0)`,
			quote(s.table), s.column, last)
		if err != nil {
			return fmt.Errorf("%w: set the sequence of %s.%s: %w", ErrTarget, s.table, s.column, err)
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
