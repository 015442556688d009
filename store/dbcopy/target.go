package dbcopy

import (
	"context"
	"fmt"
	"sort"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver, registered as "postgres"
	"go.mau.fi/util/dbutil"
)

// target is the PostgreSQL database copied into. Everything done to it —
// its schema made, the rows copied, the sequences set — happens in one
// transaction, carried by the context, so an interrupted copy leaves it as
// it was.
type target struct {
	db *dbutil.Database
	// fresh: the target had none of the schemas' version tables before
	// makeSchema, so any row in it now was seeded by a migration (the
	// leader's lease row), not left by an earlier run.
	fresh bool
}

func openTarget(ctx context.Context, uri string) (*target, error) {
	db, err := dbutil.NewWithDialect(uri, "postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	db.VersionTable = schemas()[0].versionTable
	db.UpgradeTable = schemas()[0].upgrades
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.RawDB.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%w: cannot connect to PostgreSQL: %w", ErrTarget, err)
	}
	return &target{db: db}, nil
}

func (t *target) close() { _ = t.db.Close() }

// makeSchema runs every schema's migrations, as Caldicott and its crypto
// helper would on their first start: the tables to copy into are those
// the migrations make, so a table a new migration adds is copied without
// a change here. On a database already at the current schema it does
// nothing.
func (t *target) makeSchema(ctx context.Context) error {
	t.fresh = true
	for _, sc := range schemas() {
		var exists bool
		if err := t.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)`, sc.versionTable).Scan(&exists); err != nil {
			return fmt.Errorf("%w: look for %s: %w", ErrTarget, sc.versionTable, err)
		}
		t.fresh = t.fresh && !exists
	}
	for _, sc := range schemas() {
		db := t.db.Child(sc.versionTable, sc.upgrades, nil)
		if err := db.Upgrade(ctx); err != nil {
			return fmt.Errorf("%w: make %s's tables: %w", ErrTarget, sc.name, err)
		}
		var v int
		if err := t.db.QueryRow(ctx, "SELECT version FROM "+quote(sc.versionTable)+" LIMIT 1").Scan(&v); err != nil {
			return fmt.Errorf("%w: read %s: %w", ErrTarget, sc.versionTable, err)
		}
		if v != sc.current() {
			return fmt.Errorf("%w: %s in the target is at version %d, this Caldicott's is %d: copy into a new, empty database", ErrSchemaVersion, sc.name, v, sc.current())
		}
	}
	return nil
}

// column is one of a target table's columns and its PostgreSQL type.
type column struct {
	name, dataType string
}

// tables are the target's tables (in its current schema), each after the
// tables its foreign keys point at, so rows are copied in an order the
// keys accept. Version tables are left out: the migrations wrote them.
func (t *target) tables(ctx context.Context) ([]string, error) {
	names, err := t.strings(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("%w: list tables: %w", ErrTarget, err)
	}
	deps := map[string][]string{}
	rows, err := t.db.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("%w: list foreign keys: %w", ErrTarget, err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("%w: list foreign keys: %w", ErrTarget, err)
		}
		deps[from] = append(deps[from], to)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: list foreign keys: %w", ErrTarget, err)
	}
	var out []string
	for _, n := range dependenciesFirst(names, deps) {
		if !isVersionTable(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// dependenciesFirst orders names so that each comes after those it
// depends on (a cycle, which no schema here has, keeps its given order).
func dependenciesFirst(names []string, deps map[string][]string) []string {
	placed := map[string]bool{}
	var out []string
	var place func(n string, seen map[string]bool)
	place = func(n string, seen map[string]bool) {
		if placed[n] || seen[n] {
			return
		}
		seen[n] = true
		d := append([]string(nil), deps[n]...)
		sort.Strings(d)
		for _, dep := range d {
			place(dep, seen)
		}
		placed[n] = true
		out = append(out, n)
	}
	for _, n := range names {
		place(n, map[string]bool{})
	}
	return out
}

// columns are a table's columns in order, with their types.
func (t *target) columns(ctx context.Context, table string) ([]column, error) {
	rows, err := t.db.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, fmt.Errorf("%w: columns of %s: %w", ErrTarget, table, err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.dataType); err != nil {
			return nil, fmt.Errorf("%w: columns of %s: %w", ErrTarget, table, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// count is how many rows a table holds.
func (t *target) count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := t.db.QueryRow(ctx, "SELECT count(*) FROM "+quote(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("%w: count %s: %w", ErrTarget, table, err)
	}
	return n, nil
}

// clearSeeds empties, in a target the copy's own migrations just made,
// the rows those migrations seeded: the source's rows take their place
// (its lease row with its epoch, so a fence stays ahead of every epoch it
// has seen). tables is in foreign-key order, so it is emptied in reverse.
func (t *target) clearSeeds(ctx context.Context, tables []string) error {
	if !t.fresh {
		return nil
	}
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := t.db.Exec(ctx, "DELETE FROM "+quote(tables[i])); err != nil {
			return fmt.Errorf("%w: empty %s of what its migration seeded: %w", ErrTarget, tables[i], err)
		}
	}
	return nil
}

// refuseNonEmpty names every table that already has rows: copying beside
// them would mix two trusts' (or two runs') records, and the audit chain
// could not be one chain.
func (t *target) refuseNonEmpty(ctx context.Context, tables []string) error {
	var full []string
	for _, table := range tables {
		n, err := t.count(ctx, table)
		if err != nil {
			return err
		}
		if n > 0 {
			full = append(full, fmt.Sprintf("%s (%d rows)", table, n))
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %v already hold data; db migrate copies into a new, empty database only (create one with createdb, or drop these tables if they are left from a test)", ErrNotEmpty, full)
	}
	return nil
}

func (t *target) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := t.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
