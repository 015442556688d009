package membership

import (
	"fmt"
	"testing"
	"time"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/policy"
)

func TestEmptyDirectoryWarningsAreSpaced(t *testing.T) {
	clock := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := &Membership{Kit: &kit.Kit{Now: func() time.Time { return clock }}}
	warn := policy.ManagementNotice(policy.GateDirectoryMissing, "empty", "empty").Then(policy.RoomNotice(policy.RuleIdentity, "who", "who"))
	counts := []int{}
	for _, step := range []time.Duration{0, time.Minute, 30 * time.Minute, 31 * time.Minute} {
		clock = clock.Add(step)
		n := 0
		for _, a := range s.limitEmptyDirectoryWarnings(warn).Actions {
			if a.Kind == policy.NotifyManagement {
				n++
			}
		}
		counts = append(counts, n)
	}
	if fmt.Sprint(counts) != "[1 0 0 1]" {
		t.Fatalf("warnings per join = %v, want one per hour", counts)
	}
}
