package appservice

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/store"
)

// A tenure is a takeover only when the lease it took was not handed over:
// a released lease (a clean stop), the lease never held and this process's
// own earlier tenure are not told; a lapsed lease of another holder is,
// counted once.
func TestNoteTakeover(t *testing.T) {
	const me = "host-b/2/bb"
	for _, c := range []struct {
		name string
		prev store.LeaseState
		want bool
	}{
		{"never held", store.LeaseState{Released: true}, false},
		{"released by a clean stop", store.LeaseState{Lease: store.Lease{Holder: "host-a/1/aa", Epoch: 3}, Released: true}, false},
		{"lapsed: killed, frozen or cut off", store.LeaseState{Lease: store.Lease{Holder: "host-a/1/aa", Epoch: 3}, ExpiresIn: -2 * time.Second}, true},
		{"held by a process on this host that has gone", store.LeaseState{Lease: store.Lease{Holder: "host-a/1/aa", Epoch: 3}, ExpiresIn: 3 * time.Second}, true},
		{"this process's own earlier tenure", store.LeaseState{Lease: store.Lease{Holder: me, Epoch: 3}, ExpiresIn: -time.Second}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
			s := &Service{Kit: &kit.Kit{Log: zerolog.Nop(), Now: func() time.Time { return now }}, metrics: NewMetrics()}
			s.noteTakeover(c.prev, store.Lease{Holder: me, Epoch: c.prev.Epoch + 1})
			got := s.leader.tookOver.Load()
			if (got != nil) != c.want {
				t.Fatalf("noted a takeover: %v, want %v", got != nil, c.want)
			}
			if n := testutil.ToFloat64(s.metrics.Takeovers); n != map[bool]float64{true: 1, false: 0}[c.want] {
				t.Errorf("caldicott_takeovers_total %v", n)
			}
			if c.want && (got.from.Holder != c.prev.Holder || got.epoch != c.prev.Epoch+1 || !got.at.Equal(now)) {
				t.Errorf("noted %+v; want from %s at epoch %d, at %s by the service's clock", got, c.prev.Holder, c.prev.Epoch+1, now)
			}
		})
	}
}
