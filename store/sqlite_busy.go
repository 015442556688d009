package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// retrySQLiteBusy runs fn again for as long as it fails because another
// process holds the SQLite lock it needs, until ctx ends. Any other outcome
// (including every PostgreSQL error) is returned as it is.
func retrySQLiteBusy(ctx context.Context, purpose string, fn func() error) error {
	waiting := false
	for {
		err := fn()
		if !sqliteBusy(err) {
			return err
		}
		if !waiting {
			zerolog.Ctx(ctx).Info().Str("purpose", purpose).Msg("Waiting for another process to release the SQLite database")
			waiting = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the SQLite database %s: %w", purpose, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func sqliteBusy(err error) bool {
	var serr *sqlite.Error
	return errors.As(err, &serr) && serr.Code()&0xff == sqlite3.SQLITE_BUSY
}
