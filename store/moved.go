package store

import (
	"context"
	"errors"
	"fmt"
)

// MovedKey is the kv row db migrate writes into a SQLite database it has
// copied to PostgreSQL; its value names where (without a password).
const MovedKey = "moved_to_postgres"

// ErrMoved: the SQLite database was copied to PostgreSQL, where Caldicott
// runs now. Running on the old copy as well would run the bot's encryption
// device twice, from two copies of its keys, and break its sessions.
var ErrMoved = errors.New("this SQLite database was moved to PostgreSQL")

// refuseMoved fails with ErrMoved for a SQLite database db migrate copied.
func refuseMoved(ctx context.Context, s *Store, path string) error {
	to, moved, err := s.KV(ctx, MovedKey)
	if err != nil {
		return fmt.Errorf("read %s: %w", MovedKey, err)
	}
	if moved {
		return fmt.Errorf("%w (%s) by caldicott db migrate: set database.type: postgres and database.uri to it. If that database was lost and this copy must be used again, remove the mark first: sqlite3 %s \"DELETE FROM kv WHERE key = '%s'\"", ErrMoved, to, path, MovedKey)
	}
	return nil
}
