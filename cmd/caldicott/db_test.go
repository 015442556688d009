package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// envRunCaldicott makes a re-executed test binary run Caldicott itself
// (run with these arguments, space-separated): a real running instance
// for db migrate to refuse.
const envRunCaldicott = "CALDICOTT_TEST_RUN_ARGS"

func init() {
	if args := os.Getenv(envRunCaldicott); args != "" {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
}

func TestDBMigrateBadInput(t *testing.T) {
	dir := t.TempDir()
	pg := "postgres://u@127.0.0.1:1/db?sslmode=disable"
	tests := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"db"}, exitConfig, "say migrate"},
		{[]string{"db", "frob"}, exitConfig, `unknown subcommand "frob"`},
		{[]string{"db", "migrate", "--from", dir + "/c.db", "--to", pg}, exitConfig, "say sqlite:PATH"},
		{[]string{"db", "migrate", "--from", "postgres://x", "--to", pg}, exitConfig, "say sqlite:PATH"},
		{[]string{"db", "migrate", "--from", "sqlite:file:" + dir + "/c.db?mode=ro", "--to", pg}, exitConfig, "say sqlite:PATH"},
		{[]string{"db", "migrate", "--from", "sqlite:" + dir + "/c.db", "--to", dir + "/other.db"}, exitConfig, "say postgres://"},
		{[]string{"db", "migrate", "--from", "sqlite:" + dir + "/c.db", "--to", "mysql://x"}, exitConfig, "say postgres://"},
		{[]string{"db", "migrate", "--from", "sqlite:" + dir + "/missing.db", "--to", pg}, exitDatabase, "cannot read the SQLite database"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.says) {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want %d saying %q", tt.args, code, errOut, out, tt.code, tt.says)
		}
	}
}

// The command end to end against a running Caldicott: refused while it
// runs, done once it has stopped, and the copy passes audit verify run on
// a config that points at PostgreSQL.
func TestDBMigrateRefusesARunningCaldicottThenCopies(t *testing.T) {
	dir, cfg := configWithTokens(t)
	port := testenv.FreePort(t, "127.0.0.1")
	data, _ := os.ReadFile(cfg)
	data = []byte(strings.ReplaceAll(string(data), "29330", fmt.Sprint(port)))
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "caldicott.db")
	st, err := store.Open(context.Background(), store.SQLite, db, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(context.Background(), store.AuditEntry{Actor: "@ig:a", Action: "hold", Detail: "{}"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	stop := startCaldicott(t, cfg)
	pg := testenv.Postgres(t)
	code, _, errOut := runCLI("db", "migrate", "--from", "sqlite:"+db, "--to", pg)
	if code != exitDatabase || !strings.Contains(errOut, "stop Caldicott") {
		t.Fatalf("migrate while Caldicott runs: exit %d, stderr %q", code, errOut)
	}
	stop()
	code, out, errOut := runCLI("db", "migrate", "--from", "sqlite:"+db, "--to", pg)
	if code != exitOK || !strings.Contains(out, "Audit log intact: 1 entries") || !strings.Contains(out, "audit_log") {
		t.Fatalf("migrate after Caldicott stopped: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	pgCfg := filepath.Join(dir, "pg.yaml")
	yml := strings.Replace(string(data), "  uri: "+db, "  type: postgres\n  uri: "+pg, 1)
	if err := os.WriteFile(pgCfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("audit", "verify", "-local", "-c", pgCfg)
	if code != exitOK || !strings.Contains(out, "Audit log intact: 1 entries") {
		t.Fatalf("audit verify on the copy: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI("db", "migrate", "--from", "sqlite:"+db, "--to", testenv.Postgres(t))
	if code != exitDatabase || !strings.Contains(errOut, "was copied to PostgreSQL before") {
		t.Fatalf("migrate the moved database again: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI("audit", "verify", "-local", "-c", cfg)
	if code != exitDatabase || !strings.Contains(errOut, "moved to PostgreSQL") {
		t.Fatalf("a command on the moved SQLite database: exit %d, stderr %q", code, errOut)
	}
}

// startCaldicott runs `caldicott -c cfg` in a child process until the
// returned stop, which stops it as systemd would (SIGTERM) and waits.
func startCaldicott(t *testing.T, cfg string) (stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRunCaldicott+"=-c "+cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "Starting Caldicott") {
				once = true
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("caldicott did not start within a minute")
	}
	done := false
	stop = func() {
		if done {
			return
		}
		done = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	return stop
}
