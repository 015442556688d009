package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/caldicott/caldicott/store/dbcopy"
)

func cmdDB(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "caldicott db: say migrate\n\n"+groupUsage("db"))
		return exitConfig
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, groupUsage("db"))
		return exitOK
	}
	if args[0] != "migrate" {
		fmt.Fprintf(stderr, "caldicott db: unknown subcommand %q (want migrate)\n\n%s", args[0], groupUsage("db"))
		return exitConfig
	}
	return cmdDBMigrate(args[1:], stdout, stderr)
}

func cmdDBMigrate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("db migrate", stderr)
	from := fs.String("from", "", "the trial's database: sqlite:PATH (Caldicott stopped)")
	to := fs.String("to", "", "the new, empty PostgreSQL database: postgres://USER@HOST/DB?sslmode=…")
	if code, done := parseFlags(fs, args, stdout, stderr); done {
		return code
	}
	path, uri, err := migrateEnds(*from, *to, fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "caldicott db migrate: %v\n\n", err)
		printUsage(fs, stderr)
		return exitConfig
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "Copying %s into PostgreSQL, in one transaction (nothing is kept unless every table arrives and the audit chain verifies)…\n", path)
	rep, err := dbcopy.Copy(ctx, dbcopy.Options{From: path, To: uri, Progress: func(table string, rows int64) {
		fmt.Fprintf(stdout, "  %-40s %9d rows\n", table, rows)
	}})
	if err != nil {
		fmt.Fprintf(stderr, "caldicott db migrate: %v\n", err)
		if ctx.Err() != nil || errors.Is(err, dbcopy.ErrCopy) {
			fmt.Fprintln(stderr, "Nothing was committed: the PostgreSQL database is as it was. Run the command again.")
		}
		return migrateExitCode(err)
	}
	fmt.Fprintf(stdout, "Copied %d tables. Audit log intact: %d entries, last entry %d with hash %s.\n", len(rep.Tables), rep.Audit.Entries, rep.Audit.HeadSeq, rep.Audit.HeadHash)
	fmt.Fprint(stdout, migrateNext)
	if rep.SourceNotMarked != nil {
		fmt.Fprintf(stderr, "caldicott db migrate: WARNING: the copy is complete, but %v; Caldicott would still start on the SQLite database, so make sure nothing does.\n", rep.SourceNotMarked)
	}
	return exitOK
}

const migrateNext = `Next:
  1. In config.yaml set database.type: postgres and database.uri to the PostgreSQL URI.
  2. Start Caldicott; it keeps the bot's device and cross-signing identity.
  3. Run caldicott audit verify -c config.yaml.
The SQLite file is marked as moved: Caldicott no longer starts on it (two
Caldicotts with one device's keys would break its encryption sessions).
Keep it as a backup.
`

// migrateEnds checks the two databases named on the command line.
func migrateEnds(from, to string, rest []string) (path, uri string, err error) {
	if len(rest) > 0 {
		return "", "", fmt.Errorf("unexpected argument %q", rest[0])
	}
	path, ok := strings.CutPrefix(from, "sqlite:")
	if !ok || path == "" || strings.HasPrefix(path, "file:") {
		return "", "", fmt.Errorf("--from %q: say sqlite:PATH, the path of the SQLite database file the trial ran on", from)
	}
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return "", "", fmt.Errorf("--to %q: say postgres://USER@HOST/DATABASE, an empty PostgreSQL database", to)
	}
	return path, to, nil
}

// migrateExitCode: 4 when the audit chain does not verify (as audit
// verify), 3 for every other database problem.
func migrateExitCode(err error) int {
	if errors.Is(err, dbcopy.ErrAuditChain) {
		return exitTampered
	}
	return exitDatabase
}
