package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
)

// upgradeLockKey names the PostgreSQL advisory lock that Caldicott processes
// take to upgrade the schema: "caldicot" in ASCII. Advisory locks are per
// database, so it only has to differ from other locks taken in this one.
const upgradeLockKey int64 = 0x63616c6469636f74

// upgradeSchema brings the schema up to date under a lock that every
// Caldicott process takes to upgrade it. dbutil reads the schema version
// and then migrates, so without the lock two processes opening a new
// database together both see no schema and both create it ("table
// caldicott_version already exists"). Under the lock, the process that
// waited finds the schema current and does nothing.
func upgradeSchema(ctx context.Context, db *dbutil.Database) error {
	switch db.Dialect {
	case dbutil.SQLite:
		return upgradeSQLite(ctx, db)
	case dbutil.Postgres:
		return upgradePostgres(ctx, db)
	default:
		return fmt.Errorf("upgrade schema: %w: %s", dbutil.ErrUnsupportedDialect, db.Dialect)
	}
}

// upgradeSQLite runs the whole upgrade in one write transaction. SQLite has
// one writer at a time, and the DSN's _txlock=immediate makes the
// transaction begin with BEGIN IMMEDIATE, which takes the write lock before
// anything is read. dbutil runs every statement of Upgrade (the version
// check, each migration, the version update) in the transaction it finds in
// the context, so nothing runs outside the lock, and a process that waited
// for it reads the committed schema. The busy timeout bounds one wait for
// the lock; the upgrade waits longer, for as long as another process's
// migrations take, as pg_advisory_lock does. A failed upgrade is rolled
// back whole, so running it again is safe.
//
// A migration marked "-- transaction: sqlite-fkey-off" cannot run this way
// (dbutil needs its own connection to turn foreign keys off) and fails
// loudly; "-- transaction: off" runs inside the transaction on SQLite.
func upgradeSQLite(ctx context.Context, db *dbutil.Database) error {
	return retrySQLiteBusy(ctx, "to upgrade the schema", func() error {
		return db.DoTxn(ctx, nil, db.Upgrade)
	})
}

// upgradePostgres holds a session-level advisory lock on one connection,
// taken out of the pool, while dbutil migrates on others; the pool therefore
// needs room for one connection more than the upgrade uses.
func upgradePostgres(ctx context.Context, db *dbutil.Database) error {
	conn, err := db.RawDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get a connection for the schema upgrade lock: %w", err)
	}
	var locked bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", upgradeLockKey).Scan(&locked); err != nil {
		discardConn(conn)
		return fmt.Errorf("take the schema upgrade lock: %w", err)
	}
	if !locked {
		zerolog.Ctx(ctx).Info().Msg("Waiting for another process to finish upgrading the PostgreSQL schema")
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", upgradeLockKey); err != nil {
			// A cancelled wait may still have been granted: end the session,
			// which releases whatever it holds.
			discardConn(conn)
			return fmt.Errorf("wait for the schema upgrade lock: %w", err)
		}
	}
	upgradeErr := db.Upgrade(ctx)
	if err := releaseUpgradeLock(ctx, conn); err != nil && upgradeErr == nil {
		return err
	}
	return upgradeErr
}

// releaseUpgradeLock unlocks even when ctx has been cancelled, and ends the
// session if it cannot, so a held lock never goes back to the pool.
func releaseUpgradeLock(ctx context.Context, conn *sql.Conn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", upgradeLockKey); err != nil {
		discardConn(conn)
		return fmt.Errorf("release the schema upgrade lock: %w", err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("return the schema upgrade lock's connection: %w", err)
	}
	return nil
}

// discardConn closes the connection's session instead of returning it to
// the pool.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
