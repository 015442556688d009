package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/store"
)

func TestAuditVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper []string
		want   string
	}{
		{"edited reason", []string{`UPDATE audit_log SET reason = 'nothing happened' WHERE seq = 3`}, "entry 3 was edited"},
		{"edited actor", []string{`UPDATE audit_log SET actor = '@someone:else' WHERE seq = 1`}, "entry 1 was edited"},
		{"deleted middle", []string{`DELETE FROM audit_log WHERE seq = 2`}, "entries 2 to 2 are missing"},
		{"deleted tail", []string{`DELETE FROM audit_log WHERE seq >= 4`}, "the log ends at entry 3 but entry 5 was written last"},
		{"rehashed edit", []string{`UPDATE audit_log SET reason = 'x', hash = 'abc' WHERE seq = 2`}, "entry 3 does not follow"},
		{"appended without the head", []string{`INSERT INTO audit_log (seq, ts, actor, room_id, action, reason, detail, prev_hash, hash) SELECT 6, ts, actor, room_id, action, reason, detail, hash, hash FROM audit_log WHERE seq = 5`}, "added without being written"},
		{"head removed", []string{`DELETE FROM audit_head`}, "the record of the last entry is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store.WithAllEngines(t, func(t *testing.T, s *store.Store) {
				store.AppendN(t, s, 5)
				for _, q := range tt.tamper {
					if err := audittamper.Run(context.Background(), s, q); err != nil {
						t.Fatal(err)
					}
				}
				r, err := s.VerifyAudit(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if r.OK() || !strings.Contains(strings.Join(r.Problems, "\n"), tt.want) {
					t.Fatalf("problems = %q, want one containing %q", r.Problems, tt.want)
				}
			})
		})
	}
}
