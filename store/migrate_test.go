package store

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
)

// A re-executed test binary with these set is an opener: one more Caldicott
// process opening the database at the same moment as the others.
const (
	envOpenerEngine = "CALDICOTT_TEST_OPENER_ENGINE"
	envOpenerURI    = "CALDICOTT_TEST_OPENER_URI"
)

// runOpener says it is ready, waits for its stdin to close (the start signal
// every opener of a round gets at once), then opens the store with a pool of
// one connection, the tightest configuration. It returns the exit code.
func runOpener(engine, uri string) int {
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, engine, uri, 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Starting caldicott while "caldicott directory import" ran against a new
// database used to fail most times: both processes saw no schema and both
// created it. Each round here races several processes on a new database;
// every one must open it, and the schema must be at the latest version once.
func TestProcessesOpeningNewDatabaseTogether(t *testing.T) {
	const rounds, openers = 10, 4
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		raceOpeners(t, SQLite, rounds, openers, func(round int) string {
			return filepath.Join(dir, fmt.Sprintf("round%d.db", round))
		})
	})
	t.Run("postgres", func(t *testing.T) {
		raceOpeners(t, Postgres, rounds, openers, func(int) string { return testenv.Postgres(t) })
	})
}

func raceOpeners(t *testing.T, engine string, rounds, openers int, newURI func(round int) string) {
	t.Helper()
	failed := 0
	var first string
	for round := range rounds {
		uri := newURI(round)
		problems := openTogether(t, engine, uri, openers)
		if len(problems) == 0 {
			if p := checkVersionRow(engine, uri); p != "" {
				problems = append(problems, p)
			}
		}
		if len(problems) > 0 {
			failed++
			if first == "" {
				first = fmt.Sprintf("round %d: %s", round, strings.Join(problems, "; "))
			}
		}
	}
	if failed > 0 {
		t.Errorf("%s: %d of %d rounds of %d processes failed; first: %s", engine, failed, rounds, openers, first)
	}
}

// openTogether starts the openers, waits until each is ready, releases them
// together and returns what went wrong in each, if anything did.
func openTogether(t *testing.T, engine, uri string, openers int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type opener struct {
		cmd    *exec.Cmd
		start  io.WriteCloser
		stderr strings.Builder
	}
	procs := make([]*opener, openers)
	for i := range procs {
		p := &opener{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^$")}
		p.cmd.Env = append(os.Environ(), envOpenerEngine+"="+engine, envOpenerURI+"="+uri)
		p.cmd.Stderr = &p.stderr
		stdout, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if p.start, err = p.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start opener: %v", err)
		}
		// Wait for the fully started process to say it is ready.
		if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
			t.Fatalf("opener %d did not get ready: %q %v", i, line, err)
		}
		procs[i] = p
	}
	for _, p := range procs {
		_ = p.start.Close()
	}
	var problems []string
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			problems = append(problems, fmt.Sprintf("opener %d: %v: %s", i, err, strings.TrimSpace(p.stderr.String())))
		}
	}
	return problems
}

// checkVersionRow reports a problem unless the version table holds exactly
// one row, at the latest version.
func checkVersionRow(engine, uri string) string {
	dsn := uri
	if engine == SQLite {
		dsn = sqliteDSN(uri)
	}
	db, err := sql.Open(engine, dsn)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	var rows, version int
	if err := db.QueryRow("SELECT COUNT(*), COALESCE(MAX(version), 0) FROM caldicott_version").Scan(&rows, &version); err != nil {
		return fmt.Sprintf("read version: %v", err)
	}
	if rows != 1 || version != len(upgradeTable) {
		return fmt.Sprintf("version table has %d rows, latest version %d; want 1 row at %d", rows, version, len(upgradeTable))
	}
	return ""
}

// A process that finds another holding the upgrade lock waits for it, longer
// than SQLite's busy timeout if need be, and then opens the database; one
// that gives up waiting leaves no lock behind.
func TestOpenWaitsForAnotherProcessUpgrading(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		// A busy timeout far shorter than the wait, so Open must retry.
		dsn := "file:" + filepath.Join(t.TempDir(), "caldicott.db") +
			"?_pragma=busy_timeout(20)&_pragma=journal_mode(WAL)&_txlock=immediate"
		holder, err := sql.Open(SQLite, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		tx, err := holder.Begin() // BEGIN IMMEDIATE: the write lock
		if err != nil {
			t.Fatal(err)
		}
		openWhileLocked(t, SQLite, dsn, func() { _ = tx.Rollback() })
	})
	t.Run("postgres", func(t *testing.T) {
		uri := testenv.Postgres(t)
		holder, err := sql.Open(Postgres, uri)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close()
		conn, err := holder.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_lock($1)", upgradeLockKey); err != nil {
			t.Fatal(err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if s, err := Open(ctx, Postgres, uri, 1); err == nil {
			s.Close()
			t.Fatal("Open upgraded while another process held the upgrade lock")
		} else if !strings.Contains(err.Error(), "wait for the schema upgrade lock") {
			t.Fatalf("Open gave up with %v, want a wait for the upgrade lock", err)
		}
		var holders int
		if err := holder.QueryRow("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").Scan(&holders); err != nil {
			t.Fatal(err)
		}
		if holders != 1 {
			t.Fatalf("%d advisory locks held after Open gave up, want only the holder's", holders)
		}

		openWhileLocked(t, Postgres, uri, func() {
			_, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", upgradeLockKey)
		})
	})
}

// openWhileLocked starts Open, checks it waits while the lock is held, then
// releases the lock and checks Open completes.
func openWhileLocked(t *testing.T, engine, uri string, release func()) {
	t.Helper()
	type result struct {
		s   *Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := Open(context.Background(), engine, uri, 1)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.s != nil {
			r.s.Close()
		}
		t.Fatalf("Open returned (%v) while another process held the lock", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Open after the lock was released: %v", r.err)
		}
		r.s.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("Open still waiting 10s after the lock was released")
	}
	if p := checkVersionRow(engine, uri); p != "" {
		t.Fatal(p)
	}
}
