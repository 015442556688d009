package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"
)

// The SQLite database and its -wal and -shm files are created 0600 under
// the usual umask (022, which gives 0644 to whatever the driver creates),
// and an existing database left 0644 is made private on open, with a log
// line saying so.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "caldicott.db")
	files := []string{path, path + "-wal", path + "-shm"}
	modes := func() []string {
		var out []string
		for _, f := range files {
			info, err := os.Stat(f)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			out = append(out, filepath.Base(f)+" "+info.Mode().Perm().String())
		}
		return out
	}
	want := "caldicott.db -rw-------, caldicott.db-wal -rw-------, caldicott.db-shm -rw-------"

	ctx := context.Background()
	s, err := Open(ctx, SQLite, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AppendAudit(ctx, AuditEntry{Actor: "@a:x", Action: "set_state", Reason: "written"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(modes(), ", "); got != want {
		t.Fatalf("a new database: %s, want %s", got, want)
	}

	// An operator's existing database, readable by everyone: the next
	// process to open it (the service, a CLI command) tightens all three.
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logged bytes.Buffer
	s2, err := Open(zerolog.New(&logged).WithContext(ctx), SQLite, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := strings.Join(modes(), ", "); got != want {
		t.Fatalf("an existing 0644 database after open: %s, want %s", got, want)
	}
	if n := strings.Count(logged.String(), "made it private (0600)"); n != 3 || !strings.Contains(logged.String(), `"was":"0644"`) {
		t.Fatalf("want one log line per tightened file, got:\n%s", logged.String())
	}
	if _, err := s2.AppendAudit(ctx, AuditEntry{Actor: "@a:x", Action: "set_state", Reason: "still writable"}); err != nil {
		t.Fatal(err)
	}
}

func TestSQLitePath(t *testing.T) {
	for uri, want := range map[string]string{
		"caldicott.db":                           "caldicott.db",
		"/var/lib/caldicott/caldicott.db":        "/var/lib/caldicott/caldicott.db",
		"file:caldicott.db":                      "caldicott.db",
		"file:/var/lib/c.db?_pragma=x&_txlock=y": "/var/lib/c.db",
		"file:///var/lib/c.db":                   "/var/lib/c.db",
		"file://localhost/var/lib/c.db":          "/var/lib/c.db",
		":memory:":                               "",
		"file::memory:?cache=shared":             "",
		"file:mem1?mode=memory&cache=shared":     "",
	} {
		if got := sqlitePath(uri); got != want {
			t.Errorf("sqlitePath(%q) = %q, want %q", uri, got, want)
		}
	}
}
