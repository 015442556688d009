package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/caldicott/caldicott/internal/retry"
)

// The store's errors classify themselves: a failure of the database is
// worth retrying (retry.IsTransient), the store's own answers are not, and
// a refusal decided inside a transaction stays a refusal. Callers no longer
// mark the store's errors themselves.
func TestStoreErrorsClassifyThemselves(t *testing.T) {
	held := errors.New("held: too many removals at once")
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := StaffRecord{UserID: "@alice:a", Name: "Alice", Status: "active", Source: "csv"}
		if err := s.UpsertStaff(ctx, []StaffRecord{alice}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddRequest(ctx, AccessRequest{RoomID: "!r:a", UserID: "@bob:a", RequestedBy: "@bob:a"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			call      func() error
			transient bool
			is        error // and errors.Is, when set
		}{
			{"a statement the database refuses", func() error {
				_, err := s.db.Exec(ctx, `INSERT INTO no_such_table VALUES (1)`)
				return err
			}, true, nil},
			{"a query the database refuses", func() error {
				_, err := s.db.Query(ctx, `SELECT nothing FROM no_such_table`)
				return err
			}, true, nil},
			{"a row that cannot be scanned", func() error {
				var n int
				return s.db.QueryRow(ctx, `SELECT 'x'`).Scan(&n)
			}, true, nil},
			{"no row is an answer", func() error {
				var n int
				return s.db.QueryRow(ctx, `SELECT 1 WHERE 1 = 0`).Scan(&n)
			}, false, sql.ErrNoRows},
			{"not found", func() error { _, err := s.HoldOf(ctx, "@nobody:a"); return err }, false, ErrNotFound},
			{"a duplicate request", func() error {
				return s.AddRequest(ctx, AccessRequest{RoomID: "!r:a", UserID: "@bob:a", RequestedBy: "@bob:a"})
			}, false, ErrDuplicate},
			{"a refusal decided in a transaction", func() error {
				left := alice
				left.Status = "left"
				_, err := s.SaveStaffChecked(ctx, []StaffRecord{left}, DirectoryAuthor{Actor: "csv", Via: "import"},
					func(context.Context, []string) error { return held })
				return err
			}, false, held},
		}
		for _, tt := range tests {
			err := tt.call()
			if err == nil {
				t.Errorf("%s: no error", tt.name)
				continue
			}
			if got := retry.IsTransient(err); got != tt.transient {
				t.Errorf("%s: IsTransient(%v) = %v, want %v", tt.name, err, got, tt.transient)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%s: %v is not %v", tt.name, err, tt.is)
			}
		}
		// The database gone: every read and write is worth retrying.
		s.Close()
		if _, err := s.RoomPolicies(ctx); !retry.IsTransient(err) {
			t.Errorf("read from a closed database: %v, not transient", err)
		}
		if err := s.SaveVerificationState(ctx, VerificationState{UserID: "@alice:a", Status: "unverified"}); !retry.IsTransient(err) {
			t.Errorf("write to a closed database: %v, not transient", err)
		}
	})
}

// A no-rows answer reaches callers unchanged: the store compares it with ==.
func TestDBFailureLeavesAnswersAlone(t *testing.T) {
	if dbFailure(sql.ErrNoRows) != sql.ErrNoRows || dbFailure(nil) != nil {
		t.Error("dbFailure changed an answer")
	}
	once := dbFailure(errors.New("down"))
	if dbFailure(once) != once {
		t.Error("dbFailure marked a failure twice")
	}
}
