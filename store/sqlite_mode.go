package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/rs/zerolog"
)

// sqliteFileMode is the mode of the SQLite database and its -wal and -shm
// files: they hold the staff directory, the audit log and messages waiting
// for the patient record, so only Caldicott's own user may read them.
// SQLite gives the -wal and -shm files the database file's mode.
const sqliteFileMode fs.FileMode = 0o600

// privateSQLiteFiles creates the database file 0600 before the driver opens
// it (the driver would create it with the process umask, 0644 on most
// systems) and makes an existing database, -wal and -shm private, saying so
// in the log. In-memory databases have no file.
func privateSQLiteFiles(ctx context.Context, uri string) error {
	path := sqlitePath(uri)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, sqliteFileMode)
	if err != nil {
		return fmt.Errorf("create SQLite database %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create SQLite database %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check SQLite file %s: %w", p, err)
		}
		if info.Mode().Perm()&^sqliteFileMode == 0 {
			continue
		}
		if err := os.Chmod(p, sqliteFileMode); err != nil {
			return fmt.Errorf("SQLite file %s is readable by other users (mode %04o) and could not be made private (run chmod 600 on it as its owner): %w", p, info.Mode().Perm(), err)
		}
		zerolog.Ctx(ctx).Warn().Str("file", p).Str("was", fmt.Sprintf("%04o", info.Mode().Perm())).Msg("SQLite file was readable by other users; made it private (0600)")
	}
	return nil
}

// sqlitePath is the file a database.uri names ("" for an in-memory
// database): a plain path, or a file: URI whose query holds options.
func sqlitePath(uri string) string {
	path, query, _ := strings.Cut(uri, "?")
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		path = rest
		// file:///abs/path and file://localhost/abs/path name /abs/path.
		if after, ok := strings.CutPrefix(path, "//"); ok {
			if i := strings.Index(after, "/"); i >= 0 {
				path = after[i:]
			}
		}
	} else {
		query = ""
	}
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return path
}
