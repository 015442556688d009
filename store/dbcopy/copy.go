package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/caldicott/caldicott/store"
)

// Options say what to copy where.
type Options struct {
	// From is the SQLite database's file.
	From string
	// To is the PostgreSQL database's URI (postgres://…).
	To string
	// Progress, if set, is told after each table has been copied (inside
	// the transaction: nothing is committed until every table is).
	Progress func(table string, rows int64)
}

// Table is one table copied and how many rows it holds.
type Table struct {
	Name string
	Rows int64
	// NotInSource: the schema has the table but the source had none (the
	// encryption device's stores, when encryption was never on); it was
	// made empty.
	NotInSource bool
}

// Report says what was copied and what the audit check found.
type Report struct {
	Tables []Table
	Audit  store.AuditReport
	// SourceNotMarked is why the source could not be marked as moved
	// (nil when it was): the copy is committed all the same, but Caldicott
	// would still start on the SQLite database.
	SourceNotMarked error
}

// Copy copies the SQLite database into the PostgreSQL one, then marks the
// source as moved so Caldicott no longer starts on it. It refuses while
// any Caldicott process has the source open, when the source is not at
// this Caldicott's schema or was copied before, and when the target holds
// Caldicott's data;
// it commits only when every table's rows arrived and the audit chain
// verifies in the target. On any failure, and when ctx is cancelled,
// nothing is left in the target (its schema included): run it again.
func Copy(ctx context.Context, opts Options) (Report, error) {
	src, err := openSource(ctx, opts.From)
	if err != nil {
		return Report{}, err
	}
	defer src.close()
	srcTables, err := src.tables(ctx)
	if err != nil {
		return Report{}, err
	}
	if err := src.checkVersions(ctx, srcTables); err != nil {
		return Report{}, err
	}
	if err := src.refuseMoved(ctx, srcTables); err != nil {
		return Report{}, err
	}
	tgt, err := openTarget(ctx, opts.To)
	if err != nil {
		return Report{}, err
	}
	defer tgt.close()
	var rep Report
	err = tgt.db.DoTxn(ctx, nil, func(ctx context.Context) error {
		rep, err = copyAll(ctx, src, srcTables, tgt, opts.Progress)
		return err
	})
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	if err == nil {
		rep.SourceNotMarked = src.markMoved(ctx, redact(opts.To))
	}
	return rep, err
}

// redact is the URI without its password, to name the target in the source.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "a PostgreSQL database"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// copyAll makes the target's schema, copies every table and checks the
// result, all inside the target's transaction.
func copyAll(ctx context.Context, src *source, srcTables map[string]bool, tgt *target, progress func(string, int64)) (Report, error) {
	var rep Report
	if err := tgt.makeSchema(ctx); err != nil {
		return rep, err
	}
	tables, err := tgt.tables(ctx)
	if err != nil {
		return rep, err
	}
	if err := refuseUnknownTables(srcTables, tables); err != nil {
		return rep, err
	}
	if err := tgt.clearSeeds(ctx, tables); err != nil {
		return rep, err
	}
	if err := tgt.refuseNonEmpty(ctx, tables); err != nil {
		return rep, err
	}
	for _, table := range tables {
		t := Table{Name: table, NotInSource: !srcTables[table]}
		if !t.NotInSource {
			if t.Rows, err = copyTable(ctx, src, tgt, table); err != nil {
				return rep, err
			}
			if err := sameCount(ctx, src, tgt, table, t.Rows); err != nil {
				return rep, err
			}
		}
		rep.Tables = append(rep.Tables, t)
		if progress != nil {
			progress(table, t.Rows)
		}
	}
	autoinc, err := src.autoincrements(ctx, srcTables)
	if err != nil {
		return rep, err
	}
	if err := resetSequences(ctx, tgt, autoinc); err != nil {
		return rep, err
	}
	rep.Audit, err = verifyAudit(ctx, src, tgt)
	return rep, err
}

// refuseUnknownTables: a source table that no schema makes would be left
// behind, so the copy would not be everything Caldicott keeps.
func refuseUnknownTables(srcTables map[string]bool, tables []string) error {
	unknown := map[string]bool{}
	for t := range srcTables {
		if !isVersionTable(t) {
			unknown[t] = true
		}
	}
	for _, t := range tables {
		delete(unknown, t)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("%w: the source has tables %v that this Caldicott's schema does not make; migrate with the Caldicott version that last ran on it", ErrSchemaVersion, sortedKeys(unknown))
	}
	return nil
}

// sameCount checks the target's table holds as many rows as the source's.
func sameCount(ctx context.Context, src *source, tgt *target, table string, copied int64) error {
	var want int64
	if err := src.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+quote(table)).Scan(&want); err != nil {
		return fmt.Errorf("%w: count %s: %w", ErrSource, table, err)
	}
	got, err := tgt.count(ctx, table)
	if err != nil {
		return err
	}
	if got != want || copied != want {
		return fmt.Errorf("%w: %s has %d rows in the source, %d copied, %d in the target", ErrCopy, table, want, copied, got)
	}
	return nil
}

// verifyAudit runs the check `caldicott audit verify` runs on the copied
// log, inside the transaction, and compares its head with the source's:
// the copy is the same chain, whole.
func verifyAudit(ctx context.Context, src *source, tgt *target) (store.AuditReport, error) {
	r, err := store.OnDatabase(tgt.db).VerifyAudit(ctx)
	if err != nil {
		return r, fmt.Errorf("%w: verify the copied audit log: %w", ErrAuditChain, err)
	}
	if len(r.Problems) > 0 {
		return r, fmt.Errorf("%w: the copied audit log does not verify (%d problems, the first: %s); nothing was committed — run caldicott audit verify on the SQLite database", ErrAuditChain, len(r.Problems), r.Problems[0])
	}
	var seq int64
	var hash string
	err = src.conn.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		seq, hash, err = 0, "", nil
	}
	if err != nil {
		return r, fmt.Errorf("%w: read the source's audit head: %w", ErrSource, err)
	}
	if r.HeadSeq != seq || (seq > 0 && r.HeadHash != hash) {
		return r, fmt.Errorf("%w: the copied audit head is entry %d (%s), the source's %d (%s)", ErrAuditChain, r.HeadSeq, r.HeadHash, seq, hash)
	}
	return r, nil
}
