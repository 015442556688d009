package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrInUse is returned when a SQLite database cannot be locked because
// another process has it open (a running Caldicott, or db migrate).
var ErrInUse = errors.New("the SQLite database is in use")

// runLockPath is the lock file beside a SQLite database. SQLite itself
// cannot say whether a process has the database open (it locks only while
// it reads or writes), so every Caldicott process that opens the database
// holds a shared lock on this file for as long as it has it open, and
// db migrate takes it exclusively. A separate file, not the database:
// closing any descriptor of the database would drop SQLite's own locks
// (POSIX locks belong to the process, not the descriptor).
func runLockPath(dbPath string) string { return dbPath + ".lock" }

// holdSQLite takes the shared lock of the database at uri for a process
// that opens it; nil when the database has no file (in memory). It fails
// at once, rather than wait, while db migrate holds the lock.
func holdSQLite(uri string) (*os.File, error) {
	path := sqlitePath(uri)
	if path == "" {
		return nil, nil
	}
	f, err := lockFile(path, syscall.LOCK_SH)
	if errors.Is(err, ErrInUse) {
		return nil, fmt.Errorf("%w: caldicott db migrate is copying %s (lock file %s); start Caldicott on the database it copies to once it has finished", err, path, runLockPath(path))
	}
	return f, err
}

// LockSQLite takes the lock of the SQLite database at uri exclusively, for
// a command that must be the only one with the database open; it fails
// with ErrInUse while any Caldicott process has it open. Close the file to
// release it.
func LockSQLite(uri string) (*os.File, error) {
	path := sqlitePath(uri)
	if path == "" {
		return nil, fmt.Errorf("%q names no database file", uri)
	}
	f, err := lockFile(path, syscall.LOCK_EX)
	if errors.Is(err, ErrInUse) {
		return nil, fmt.Errorf("%w: a Caldicott process has %s open (lock file %s); stop Caldicott (and any gatekeeper, audit or export command using this database) first", err, path, runLockPath(path))
	}
	return f, err
}

func lockFile(dbPath string, how int) (*os.File, error) {
	p := runLockPath(dbPath)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, sqliteFileMode)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return f, nil
}

// closeFile closes a lock file, releasing its lock; nil is no file.
func closeFile(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}
