package store

import (
	"context"
	"fmt"
)

// TamperForTest drops the audit log's append-only triggers and runs query,
// as an attacker with direct database access could. Tests use it to show that
// `caldicott audit verify` catches what the triggers cannot prevent.
func (s *Store) TamperForTest(ctx context.Context, query string) error {
	drops := []string{`DROP TRIGGER IF EXISTS audit_log_no_update`, `DROP TRIGGER IF EXISTS audit_log_no_delete`}
	if s.Engine() == Postgres {
		drops = []string{`DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log`}
	}
	for _, q := range append(drops, query) {
		if _, err := s.db.Exec(ctx, q); err != nil {
			return fmt.Errorf("tamper: %w", err)
		}
	}
	return nil
}
