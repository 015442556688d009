package federation

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/retry"
	"github.com/caldicott/caldicott/policy"
)

// TestProofOurHomeserverCannotServe: a member-trust rule whose cited
// request our homeserver keeps answering with a server error is retried
// (the list room's lane waits, as for any outage) only for proofPatience;
// then it is judged unproven, refused and reported, so one unreadable
// proof does not hold every later rule of the list behind it.
func TestProofOurHomeserverCannotServe(t *testing.T) {
	hs := &homeserver{eventStatus: 500}
	f, _, now := newTestFederation(t, hs)
	ctx := context.Background()
	forged := rule("m.policy.rule.server", policy.ListRuleKey("evil.example"), "@caldicott:trust-b", "$forged",
		map[string]any{"entity": "evil.example", "recommendation": "m.allow", "org.caldicott.proof": "$unreadable"})

	for _, after := range []time.Duration{0, time.Minute, time.Minute - time.Second} {
		*now = now.Add(after)
		if err := f.HandleEvent(ctx, forged); err == nil || !retry.IsTransient(err) {
			t.Fatalf("%s into the outage: %v, want a transient error (retried)", after, err)
		}
	}
	*now = now.Add(time.Second)
	if err := f.HandleEvent(ctx, forged); err != nil {
		t.Fatalf("after %s of server errors: %v, want the rule judged", proofPatience, err)
	}
	if slices.Contains(f.Trusts(), "evil.example") {
		t.Fatalf("trusts %v: a rule without a readable proof was applied", f.Trusts())
	}
	told := hs.told()
	if len(told) != 1 || !strings.Contains(told[0], "could not serve the request it cites ($unreadable)") {
		t.Fatalf("management room told %q, want one refusal naming the unreadable proof", told)
	}
}
