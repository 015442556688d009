package appservice

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// A standby whose policy config differs from the leader's says so (/ready,
// caldicott_config_mismatch) and does not lead while the leader lives;
// when the leader has gone it takes over (availability first), records
// its own rules with the lease and no longer reports a mismatch.
func TestStandbyWithOtherRulesWaitsForTheLeader(t *testing.T) {
	db := filepath.Join(t.TempDir(), "caldicott.db")
	start := func(extra string) (*Service, *store.Store, context.CancelFunc, chan struct{}) {
		return runOnSQLite(t, db, "run", extra, "1.0.0")
	}
	a, st, stopA, doneA := start("")
	waitLeading(t, a, true)
	b, _, _, _ := start("policy: {dry_run: true}")
	testenv.Eventually(t, 5*time.Second, "the standby reports the mismatch", func() (bool, string) {
		got := testutil.ToFloat64(b.Metrics().ConfigMismatch)
		return got == 1, fmt.Sprint(got)
	})
	for i := 0; i < 4; i++ {
		time.Sleep(300 * time.Millisecond)
		if b.Leading() || !a.Leading() {
			t.Fatalf("a leading %v, b leading %v; want a alone", a.Leading(), b.Leading())
		}
	}
	code, body := ready(t, b)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "standby\nconfig mismatch: the leader "+a.leader.holder) ||
		!strings.Contains(body, short(a.leader.rules.Fingerprint)) || !strings.Contains(body, short(b.leader.rules.Fingerprint)) {
		t.Errorf("the standby's /ready = %d %q; want the mismatch with both fingerprints", code, body)
	}
	if got := testutil.ToFloat64(a.Metrics().ConfigMismatch); got != 0 {
		t.Errorf("the leader's caldicott_config_mismatch = %v", got)
	}
	stopA()
	<-doneA
	waitLeading(t, b, true)
	if got := testutil.ToFloat64(b.Metrics().ConfigMismatch); got != 0 {
		t.Errorf("caldicott_config_mismatch after the takeover = %v, want 0", got)
	}
	lease, err := st.LeaseHolder(context.Background())
	if err != nil || lease.Holder != b.leader.holder || lease.Rules != b.leader.rules {
		t.Errorf("the lease after the takeover = %+v, %v; want b's holder and rules %+v", lease, err, b.leader.rules)
	}
}
