package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver, registered as "postgres"
	"go.mau.fi/util/dbutil"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

//go:embed upgrades/*.sql
var upgrades embed.FS

var upgradeTable dbutil.UpgradeTable

func init() {
	upgradeTable.RegisterFSPath(upgrades, "upgrades")
}

// Store is Caldicott's persistence on SQLite or PostgreSQL.
type Store struct {
	db database
	// auditMu serialises appends within this process; the database
	// transaction serialises them against anything else.
	auditMu sync.Mutex
	now     func() time.Time
	// running is the SQLite database's shared lock file (nil on
	// PostgreSQL): db migrate refuses while any process holds it.
	running *os.File
	// fence is the leader's lease its fenced writes check (leader.go).
	fence fence
	// rules are what this process leads by, recorded with the lease.
	rules atomic.Pointer[Rules]
	// uri is the database's address, for a listener of its own (PostgreSQL).
	uri string
}

// Engine names accepted by Open.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Open connects, checks the database answers and brings the schema up to
// date; processes opening one database together upgrade it one at a time.
func Open(ctx context.Context, engine, uri string, maxConns int) (*Store, error) {
	var dsn string
	var running *os.File
	switch engine {
	case SQLite:
		if err := privateSQLiteFiles(ctx, uri); err != nil {
			return nil, err
		}
		var err error
		if running, err = holdSQLite(uri); err != nil {
			return nil, err
		}
		dsn = sqliteDSN(uri)
	case Postgres:
		dsn = uri
	default:
		return nil, fmt.Errorf("unknown database type %q (want sqlite or postgres)", engine)
	}
	db, err := dbutil.NewWithDialect(dsn, engine)
	if err != nil {
		closeFile(running)
		return nil, fmt.Errorf("open %s database: %w", engine, err)
	}
	db.UpgradeTable = upgradeTable
	db.VersionTable = VersionTable
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// A new SQLite database's first connection sets journal_mode(WAL), which
	// fails with SQLITE_BUSY, without waiting the busy timeout, while
	// another process is setting it too.
	err = retrySQLiteBusy(pingCtx, "to connect", func() error { return db.RawDB.PingContext(pingCtx) })
	if err != nil {
		_ = db.Close()
		closeFile(running)
		return nil, fmt.Errorf("connect to %s database: %w", engine, err)
	}
	if err := upgradeSchema(ctx, db); err != nil {
		_ = db.Close()
		closeFile(running)
		return nil, fmt.Errorf("upgrade %s schema: %w", engine, err)
	}
	// Bounded only now: a PostgreSQL upgrade holds its lock on one
	// connection while it migrates on another, even when maxConns is 1.
	if maxConns < 1 {
		maxConns = 1
	}
	db.RawDB.SetMaxOpenConns(maxConns)
	st := newStore(db, running)
	st.uri = dsn
	if engine == SQLite {
		if err := refuseMoved(ctx, st, sqlitePath(uri)); err != nil {
			_ = st.Close()
			return nil, err
		}
	}
	return st, nil
}

// newStore is a store on db with the wall clock, holding running until
// it closes.
func newStore(db *dbutil.Database, running *os.File) *Store {
	return &Store{db: database{db}, now: time.Now, running: running}
}

// sqliteDSN adds the pragmas Caldicott relies on: WAL for concurrent readers,
// a busy timeout instead of immediate "database is locked", and immediate
// write transactions so two writers queue instead of deadlocking.
func sqliteDSN(path string) string {
	if strings.HasPrefix(path, "file:") && strings.Contains(path, "?") {
		return path
	}
	if !strings.HasPrefix(path, "file:") {
		path = "file:" + path
	}
	return path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// Close releases the database, and then its lock file.
func (s *Store) Close() error {
	err := s.db.Close()
	closeFile(s.running)
	return err
}

// Engine reports which engine the store runs on.
func (s *Store) Engine() string {
	if s.db.Dialect == dbutil.Postgres {
		return Postgres
	}
	return SQLite
}

// Now is Caldicott's one clock: the store stamps its rows with it and every
// component reads the time through it, so a test that pins the time pins it
// everywhere (a date written by the store and a date compared by a rule
// never disagree).
func (s *Store) Now() time.Time { return s.now() }

// SetClock replaces the clock, for tests.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// DB exposes the database for libraries that keep their own tables in it
// with their own migrations (mautrix's crypto and state stores).
func (s *Store) DB() *dbutil.Database { return s.db.Database }
