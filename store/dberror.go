package store

import (
	"context"
	"database/sql"
	"errors"

	"go.mau.fi/util/dbutil"
)

// dbError is a failure of the database itself: unreachable, busy, a
// statement refused, a stored value that cannot be read back. Callers tell
// it from the store's own answers (ErrNotFound, ErrDuplicate, a refused
// directory update) by its Transient method, which internal/retry's
// IsTransient recognises: the input is tried again later, as it was when
// every caller marked the store's errors itself. The store imports nothing
// of the retry package; the method is the whole contract.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// Transient reports that the database may answer later.
func (*dbError) Transient() bool { return true }

// dbFailure marks err as the database's failure. sql.ErrNoRows is an
// answer, not a failure, and is returned as it is (callers compare it).
func dbFailure(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err // before the target below, which escapes: every good Scan would allocate
	}
	var already *dbError
	if errors.As(err, &already) {
		return err
	}
	return &dbError{err}
}

// database is the engine with every failure of its own marked (dbFailure),
// so no store method has to remember to.
type database struct{ *dbutil.Database }

func (d database) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := d.Database.Exec(ctx, query, args...)
	return res, dbFailure(err)
}

func (d database) Query(ctx context.Context, query string, args ...any) (dbutil.Rows, error) {
	rows, err := d.Database.Query(ctx, query, args...)
	if err != nil {
		return nil, dbFailure(err)
	}
	return markedRows{rows}, nil
}

func (d database) QueryRow(ctx context.Context, query string, args ...any) markedRow {
	return markedRow{d.Database.QueryRow(ctx, query, args...)}
}

// DoTxn marks the transaction's own failures (begin, commit); what fn
// returns is passed on as it is, so a refusal decided inside stays one.
func (d database) DoTxn(ctx context.Context, opts *dbutil.TxnOptions, fn func(ctx context.Context) error) error {
	var fnErr error
	err := d.Database.DoTxn(ctx, opts, func(ctx context.Context) error {
		fnErr = fn(ctx)
		return fnErr
	})
	if err != nil && err != fnErr {
		return dbFailure(err)
	}
	return err
}

// markedRows marks the failures met while reading rows.
type markedRows struct{ dbutil.Rows }

func (r markedRows) Scan(dest ...any) error { return dbFailure(r.Rows.Scan(dest...)) }
func (r markedRows) Err() error             { return dbFailure(r.Rows.Err()) }

// markedRow marks the failure of a one-row query.
type markedRow struct{ row *sql.Row }

func (r markedRow) Scan(dest ...any) error { return dbFailure(r.row.Scan(dest...)) }
