package gatekeeper

import (
	"slices"
	"testing"

	"github.com/caldicott/caldicott/config"
)

// The names an operator can switch off (config) are exactly the
// judgements the gatekeeper makes.
func TestEndpointNamesMatchConfig(t *testing.T) {
	var names []string
	for _, rt := range (&Gatekeeper{}).routes() {
		if !slices.Contains(names, rt.endpoint) {
			names = append(names, rt.endpoint)
		}
	}
	want := slices.Clone(config.GatekeeperEndpoints)
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("routes judge %v; config.GatekeeperEndpoints lists %v", names, want)
	}
}
