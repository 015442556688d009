package compliance

import (
	"context"

	"github.com/caldicott/caldicott/store"
)

// ExportedEntry is an audit entry as the admin API exports it: whole, but
// with NHS numbers masked in its reason and detail. Masked says so, since
// a masked entry no longer matches its hash (`caldicott audit export` on
// the host gives the chain as written, for `audit verify`).
type ExportedEntry struct {
	store.AuditEntry
	Masked bool `json:"masked,omitempty"`
}

// ExportAudit calls fn for every audit entry in the period, in order.
func (m *Model) ExportAudit(ctx context.Context, p Period, fn func(ExportedEntry) error) error {
	return m.scanPeriod(ctx, p, func(e store.AuditEntry) error {
		out := ExportedEntry{AuditEntry: e}
		reason, detail := maskOnly(e.Reason), maskOnly(e.Detail)
		if reason != e.Reason || detail != e.Detail {
			out.Reason, out.Detail, out.Masked = reason, detail, true
		}
		return fn(out)
	})
}
