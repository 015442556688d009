package testenv

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

// PostgresBin is where Debian's PostgreSQL 15 server binaries live; override
// with CALDICOTT_PG_BIN.
func PostgresBin() string {
	if v := os.Getenv("CALDICOTT_PG_BIN"); v != "" {
		return v
	}
	return "/usr/lib/postgresql/15/bin"
}

// pgCluster is one throwaway cluster per test process; each test gets its own
// database in it, which is much cheaper than a cluster per test.
type pgCluster struct {
	root, dir, port string
	runAs           string
	// opts are the server's options, kept to start it again on the same
	// port (PGCluster.Start).
	opts string
}

var (
	pgOnce    sync.Once
	pgShared  *pgCluster
	pgErr     error
	pgCounter atomic.Int64
)

// Postgres returns the URI of a fresh, empty database in a throwaway cluster.
func Postgres(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgShared, pgErr = startCluster() })
	if pgErr != nil {
		Unavailable(t, "PostgreSQL: %v", pgErr)
	}
	name := fmt.Sprintf("caldicott_test_%d_%d", os.Getpid(), pgCounter.Add(1))
	admin, err := sql.Open("postgres", pgShared.uri("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	return pgShared.uri(name)
}

// StopPostgres stops the shared cluster; call it from TestMain after m.Run.
func StopPostgres() {
	if pgShared == nil {
		return
	}
	_ = pgShared.command("pg_ctl", "-D", pgShared.dir, "-m", "immediate", "-w", "stop").Run()
	_ = os.RemoveAll(pgShared.root)
}

// PostgresPID is the shared cluster's postmaster process (0 if none runs):
// benchmarks count its CPU time as that of the homeserver it serves.
func PostgresPID() int {
	if pgShared == nil {
		return 0
	}
	data, err := os.ReadFile(filepath.Join(pgShared.dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

func (c *pgCluster) uri(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", c.port, db)
}

// command runs a PostgreSQL binary, as the postgres system user when we are
// root, since initdb and postgres refuse to run as root.
func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(PostgresBin(), name)
	if c.runAs == "" {
		return exec.Command(bin, args...)
	}
	return exec.Command("runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
}

func startCluster() (*pgCluster, error) {
	if _, err := os.Stat(filepath.Join(PostgresBin(), "initdb")); err != nil {
		return nil, fmt.Errorf("no initdb in %s (install postgresql-15 or set CALDICOTT_PG_BIN)", PostgresBin())
	}
	dir, err := os.MkdirTemp("", "caldicott-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{root: dir, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run the cluster as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("chown cluster dir: %w", err)
		}
		c.runAs = "postgres"
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	c.dir = data
	port, err := pickPort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	c.port = strconv.Itoa(port)
	c.opts = fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", c.port, dir)
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// start starts the cluster's server and waits until it answers.
func (c *pgCluster) start() error {
	log := filepath.Join(c.root, "log")
	if out, err := c.command("pg_ctl", "-D", c.dir, "-o", c.opts, "-l", log, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s %s", err, out, tailFile(log, 2000))
	}
	db, err := sql.Open("postgres", c.uri("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err = db.Ping(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not answer: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
