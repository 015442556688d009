package testenv

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// PGCluster is a throwaway PostgreSQL cluster a test has to itself, to stop
// and start under a running Caldicott, or to restore a backup into; the
// databases Postgres hands out share one cluster that must stay up.
type PGCluster struct{ c *pgCluster }

// NewPostgresCluster starts a cluster of the test's own, removed at its end.
func NewPostgresCluster(t testing.TB) *PGCluster {
	t.Helper()
	c, err := startCluster()
	if err != nil {
		Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		_ = c.command("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop").Run()
		_ = os.RemoveAll(c.root)
	})
	return &PGCluster{c: c}
}

// Database creates an empty database named name and returns its URI.
func (p *PGCluster) Database(t testing.TB, name string) string {
	t.Helper()
	admin, err := sql.Open("postgres", p.c.uri("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return p.c.uri(name)
}

// Stop stops the server with pg_ctl's shutdown mode: "fast" (sessions
// ended, a clean checkpoint) or "immediate" (every process killed, crash
// recovery at the next start), as an operator's restart or a crash would.
func (p *PGCluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if out, err := p.c.command("pg_ctl", "-D", p.c.dir, "-m", mode, "-w", "-t", "60", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop -m %s: %v: %s", mode, err, out)
	}
}

// Start starts the stopped server again on the same port and waits until
// it answers.
func (p *PGCluster) Start(t testing.TB) {
	t.Helper()
	if err := p.c.start(); err != nil {
		t.Fatal(err)
	}
}

// Command runs one of PostgreSQL's client programs (pg_dump, pg_restore)
// as the cluster's owner, with its connection options (-h, -p, -U) first.
func (p *PGCluster) Command(name string, args ...string) *exec.Cmd {
	conn := []string{"-h", "127.0.0.1", "-p", p.c.port, "-U", "postgres"}
	return p.c.command(name, append(conn, args...)...)
}

// String names the cluster in test logs: its port.
func (p *PGCluster) String() string { return fmt.Sprintf("PostgreSQL on port %s", p.c.port) }
