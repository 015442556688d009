package dbcopy

import "errors"

// What can stop a copy, so the command can say what to do and exit with
// the right code. Each is wrapped with the particulars.
var (
	// ErrSource: the source cannot be read, is not a Caldicott database or
	// is in use.
	ErrSource = errors.New("source database")
	// ErrSchemaVersion: the source (or target) is not at the schema version
	// this Caldicott makes.
	ErrSchemaVersion = errors.New("schema version")
	// ErrTarget: the PostgreSQL database cannot be reached or used.
	ErrTarget = errors.New("target database")
	// ErrNotEmpty: the target already holds Caldicott's data.
	ErrNotEmpty = errors.New("target database is not empty")
	// ErrCopy: the copy failed part way; nothing was committed.
	ErrCopy = errors.New("copy")
	// ErrAuditChain: the copied audit log does not verify; nothing was
	// committed.
	ErrAuditChain = errors.New("audit chain")
)
