package retention

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/store"
)

// What `!policy status` says about deletion: a legal hold whatever else
// stops deletion, and never "next in about …" when sweeps are off.
func TestDeletionStatus(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	off, on := false, true
	tests := []struct {
		name     string
		delete   *bool
		dryRun   bool
		interval time.Duration
		held     bool
		swept    bool
		want     []string
		not      []string
	}{
		{"never swept", nil, false, 15 * time.Minute, false, false,
			[]string{"Deletion: not swept yet; sweeps run every 15 minutes."}, []string{"legal hold"}},
		{"swept, with backlog and an error", &on, false, 15 * time.Minute, false, true,
			[]string{"last swept 5 minutes ago, next in about 10 minutes; 42 deleted so far", "Oldest message kept: 3 days old.", "at least 7 expired events", "⚠ The last sweep failed (2 in a row): homeserver busy."}, nil},
		{"held", nil, false, 15 * time.Minute, true, true,
			[]string{"⏸ On legal hold since 30 Nov 2026", "(inquiry 12, by @ig:trust)", "last swept 5 minutes ago"}, nil},
		{"deletion switched off: the hold still shown", &off, false, 15 * time.Minute, true, true,
			[]string{"⏸ On legal hold", "switched off for this trust (`retention.delete: false`)"}, []string{"last swept"}},
		{"dry run: the hold still shown", nil, true, 15 * time.Minute, true, false,
			[]string{"⏸ On legal hold", "dry-run mode"}, []string{"not swept yet"}},
		{"sweeps off, never swept", nil, false, 0, false, false,
			[]string{"scheduled sweeps are off (`retention.sweep_interval: 0s`) and this room has never been swept"}, []string{"sweeps run every", "next in"}},
		{"sweeps off after a sweep", nil, false, 0, false, true,
			[]string{"scheduled sweeps are off", "last swept 5 minutes ago, 42 deleted so far", "Oldest message kept"}, []string{"next in"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 1)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			// One clock: the hold is stamped by the store, the status read by the kit.
			st.SetClock(func() time.Time { return now })
			room := id.RoomID("!room" + string(rune('a'+i)) + ":trust")
			if tt.held {
				if err := st.AddLegalHold(ctx, store.LegalHold{RoomID: room.String(), Reason: "inquiry 12", HeldBy: "@ig:trust"}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.swept {
				if err := st.SaveSweepState(ctx, store.SweepState{RoomID: room.String(), LastStarted: now.Add(-5 * time.Minute), LastFinished: now.Add(-4 * time.Minute),
					OldestKept: now.Add(-72 * time.Hour), Backlog: 7, Redacted: 42, LastError: "homeserver busy", Failures: 2}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := &config.Config{}
			cfg.Retention.Delete = tt.delete
			cfg.Retention.SweepInterval.Duration = tt.interval
			cfg.Policy.DryRun = tt.dryRun
			r := &Retention{Kit: &kit.Kit{Cfg: cfg, Store: st, Now: st.Now}}
			got := r.DeletionStatus(ctx, room)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("status lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("status says %q:\n%s", n, got)
				}
			}
		})
	}
}
