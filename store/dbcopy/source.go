package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	_ "modernc.org/sqlite" // the SQLite driver, registered as "sqlite"

	"github.com/caldicott/caldicott/store"
)

// source is the SQLite database being copied, locked for the whole copy:
// the store's lock file exclusively (no Caldicott process has it open),
// and SQLite's write lock (nothing writes to it meanwhile, and every
// table is read as of one moment).
type source struct {
	path string
	lock *os.File
	db   *sql.DB
	conn *sql.Conn
}

func openSource(ctx context.Context, path string) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read the SQLite database: %w", ErrSource, err)
	}
	_ = f.Close()
	lock, err := store.LockSQLite(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	src := &source{path: path, lock: lock}
	// mode=rw: never create a database that is not there.
	src.db, err = sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(5000)")
	if err == nil {
		src.conn, err = src.db.Conn(ctx)
	}
	if err == nil {
		_, err = src.conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	}
	if err != nil {
		src.close()
		return nil, fmt.Errorf("%w: open %s and lock it against writes: %w", ErrSource, path, err)
	}
	return src, nil
}

// close ends the read transaction (it wrote nothing) and releases the locks.
func (s *source) close() {
	if s.conn != nil {
		_, _ = s.conn.ExecContext(context.Background(), "ROLLBACK")
		_ = s.conn.Close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
	_ = s.lock.Close()
}

// tables are the source's tables, SQLite's own (sqlite_sequence) aside.
func (s *source) tables(ctx context.Context) (map[string]bool, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, fmt.Errorf("%w: list tables: %w", ErrSource, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("%w: list tables: %w", ErrSource, err)
		}
		out[name] = true
	}
	return out, rows.Err()
}

// columns are a table's column names.
func (s *source) columns(ctx context.Context, table string) (map[string]bool, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("%w: columns of %s: %w", ErrSource, table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("%w: columns of %s: %w", ErrSource, table, err)
		}
		out[name] = true
	}
	return out, rows.Err()
}

// version is the schema version recorded in a version table; ok is false
// when the table does not exist.
func (s *source) version(ctx context.Context, versionTable string, tables map[string]bool) (v int, ok bool, err error) {
	if !tables[versionTable] {
		return 0, false, nil
	}
	err = s.conn.QueryRowContext(ctx, "SELECT version FROM "+quote(versionTable)+" LIMIT 1").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%w: read %s: %w", ErrSource, versionTable, err)
	}
	return v, true, nil
}

// checkVersions refuses a source whose schemas are not exactly those this
// Caldicott makes: rows of another version would not fit the target's
// tables. Upgrading the source here would change the trial database behind
// the operator's back; Caldicott upgrades it when it starts.
func (s *source) checkVersions(ctx context.Context, tables map[string]bool) error {
	for _, sc := range schemas() {
		v, ok, err := s.version(ctx, sc.versionTable, tables)
		switch {
		case err != nil:
			return err
		case !ok && sc.optional:
			continue
		case !ok:
			return fmt.Errorf("%w: %s is not a Caldicott database (it has no %s table)", ErrSource, s.path, sc.versionTable)
		case v < sc.current():
			return fmt.Errorf("%w: %s in %s is at version %d, this Caldicott's is %d: start Caldicott once on the SQLite database to upgrade it, stop it, then migrate", ErrSchemaVersion, sc.name, s.path, v, sc.current())
		case v > sc.current():
			return fmt.Errorf("%w: %s in %s is at version %d, newer than this Caldicott's %d: migrate with the Caldicott version that last ran on it", ErrSchemaVersion, sc.name, s.path, v, sc.current())
		}
	}
	return nil
}

// refuseMoved: a source db migrate has copied before is refused, so one
// database does not become two bots' (see store.ErrMoved).
func (s *source) refuseMoved(ctx context.Context, tables map[string]bool) error {
	if !tables["kv"] {
		return nil
	}
	var to string
	err := s.conn.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, store.MovedKey).Scan(&to)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("%w: read kv: %w", ErrSource, err)
	}
	return fmt.Errorf("%w: %s was copied to PostgreSQL before (%s); Caldicott runs there now. To copy it again (that database was lost), remove the mark first: sqlite3 %s \"DELETE FROM kv WHERE key = '%s'\"", ErrSource, s.path, to, s.path, store.MovedKey)
}

// markMoved records in the source, and commits, that it has been copied
// to PostgreSQL: Caldicott then refuses to start on it (store.ErrMoved).
func (s *source) markMoved(ctx context.Context, to string) error {
	if _, err := s.conn.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, store.MovedKey, to); err != nil {
		return fmt.Errorf("mark %s as moved: %w", s.path, err)
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("mark %s as moved: %w", s.path, err)
	}
	return nil
}

// autoincrements are the values SQLite's AUTOINCREMENT counters reached,
// by table: they may be past the largest key still in the table (rows
// removed from its end), and PostgreSQL must not hand those keys out again.
func (s *source) autoincrements(ctx context.Context, tables map[string]bool) (map[string]int64, error) {
	out := map[string]int64{}
	var exists bool
	if err := s.conn.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')`).Scan(&exists); err != nil || !exists {
		return out, err
	}
	rows, err := s.conn.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
	if err != nil {
		return nil, fmt.Errorf("%w: read sqlite_sequence: %w", ErrSource, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq int64
		if err := rows.Scan(&name, &seq); err != nil {
			return nil, fmt.Errorf("%w: read sqlite_sequence: %w", ErrSource, err)
		}
		if tables[name] {
			out[name] = seq
		}
	}
	return out, rows.Err()
}

// quote is an identifier quoted for SQLite and PostgreSQL alike.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
