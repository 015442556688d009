package compliance_test

import (
	"strings"
	"testing"

	"github.com/caldicott/caldicott/compliance"
)

// TestVerificationLine: a member not yet confirmed is neither verified
// nor known to fall short, so the line is amber and says so; a shortfall
// found is red; only everyone verified is green.
func TestVerificationLine(t *testing.T) {
	cases := []struct {
		name  string
		c     compliance.Coverage
		state compliance.State
		words []string
	}{
		{"nobody", compliance.Coverage{}, compliance.StateOK, []string{"100% of 0 members of clinical rooms verified; 0 unverified, 0 suspended."}},
		{"all verified", compliance.Coverage{Members: 3, Verified: 3}, compliance.StateOK, []string{"100% of 3 members"}},
		{"one not yet confirmed", compliance.Coverage{Members: 1, NotConfirmed: 1}, compliance.StateWatch,
			[]string{"0% of 1 member of clinical rooms verified; 0 unverified, 0 suspended; 1 not yet confirmed (not checked yet, or vouched for only by their own trust)."}},
		{"unverified within grace", compliance.Coverage{Members: 2, Verified: 1, Unverified: 1}, compliance.StateAct, []string{"50% of 2 members", "1 unverified"}},
		{"suspended and not confirmed", compliance.Coverage{Members: 4, Verified: 1, NotConfirmed: 2, Suspended: 1}, compliance.StateAct, []string{"25% of 4 members", "1 suspended", "2 not yet confirmed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.c.Line()
			if l.State != c.state || l.Key != "verification" {
				t.Errorf("%+v: state %q, want %q", c.c, l.State, c.state)
			}
			for _, w := range c.words {
				if !strings.Contains(l.Words, w) {
					t.Errorf("%q lacks %q", l.Words, w)
				}
			}
			if c.c.NotConfirmed == 0 && strings.Contains(l.Words, "not yet confirmed") {
				t.Errorf("%q speaks of members not yet confirmed when there are none", l.Words)
			}
		})
	}
}

// TestGlanceLines: each line of the overview is green only when nothing
// in it needs the IG lead.
func TestGlanceLines(t *testing.T) {
	healthy := compliance.Overview{Classes: map[string]int{"clinical": 2}, Verification: compliance.Coverage{Members: 1, Verified: 1},
		Retention: compliance.Retention{Deleting: true}, Audit: compliance.AuditCheck{Intact: true, HeadSeq: 5, PublishedSeq: 5}}
	state := func(o compliance.Overview, key string) compliance.State {
		for _, l := range o.Glance() {
			if l.Key == key {
				return l.State
			}
		}
		t.Fatalf("no %s line", key)
		return ""
	}
	for _, l := range healthy.Glance() {
		if l.State != compliance.StateOK || l.Heading == "" || l.Words == "" {
			t.Errorf("a healthy trust: %+v", l)
		}
	}
	cases := []struct {
		name, key string
		spoil     func(o *compliance.Overview)
	}{
		{"a room not compliant", "rooms", func(o *compliance.Overview) { o.NonCompliant = []compliance.RoomSummary{{RoomID: "!r:a"}} }},
		{"a member suspended", "verification", func(o *compliance.Overview) { o.Verification.Suspended++ }},
		{"a review due", "reviews", func(o *compliance.Overview) { o.Reviews = []compliance.Review{{RoomID: "!r:a"}} }},
		{"deletion off", "retention", func(o *compliance.Overview) { o.Retention.Deleting = false }},
		{"a record failed", "records", func(o *compliance.Overview) { o.Records = compliance.Records{Configured: true, Failed: 1} }},
		{"the gatekeeper's view stale", "gatekeeper", func(o *compliance.Overview) { o.Federation.Gatekeeper = "list_stale" }},
		{"the chain broken", "audit", func(o *compliance.Overview) { o.Audit.Intact = false }},
	}
	for _, c := range cases {
		o := healthy
		c.spoil(&o)
		if got := state(o, c.key); got != compliance.StateAct {
			t.Errorf("%s: the %s line is %q", c.name, c.key, got)
		}
	}
}
