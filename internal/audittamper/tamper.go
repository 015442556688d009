package audittamper

import (
	"context"
	"fmt"

	"github.com/caldicott/caldicott/store"
)

// Run drops the audit log's append-only triggers and runs query, as an
// attacker with direct database access could.
func Run(ctx context.Context, st *store.Store, query string) error {
	drops := []string{`DROP TRIGGER IF EXISTS audit_log_no_update`, `DROP TRIGGER IF EXISTS audit_log_no_delete`}
	if st.Engine() == store.Postgres {
		drops = []string{`DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log`}
	}
	for _, q := range append(drops, query) {
		if _, err := st.DB().Exec(ctx, q); err != nil {
			return fmt.Errorf("tamper: %w", err)
		}
	}
	return nil
}
