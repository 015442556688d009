package membership

import (
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/compliance"
)

// TestReportText: the report says what the compliance page's overview
// says, line by line, with what is behind each line that needs the IG lead.
func TestReportText(t *testing.T) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	p := compliance.Period{From: day.AddDate(0, 0, -30), To: day}
	healthy := compliance.Overview{Trust: "Trust A", Period: p, Classes: map[string]int{"clinical": 1},
		Verification: compliance.Coverage{Members: 2, Verified: 2}, Retention: compliance.Retention{Deleting: true},
		Audit: compliance.AuditCheck{Intact: true, HeadSeq: 9, PublishedSeq: 9}, Directory: map[string]int{"active": 2}}
	var many []compliance.RoomSummary
	for range 12 {
		many = append(many, compliance.RoomSummary{RoomID: "!r:a.test", Class: "clinical", Problems: []string{"Encryption is off."}})
	}
	cases := []struct {
		name   string
		spoil  func(o *compliance.Overview)
		want   []string
		absent []string
	}{
		{"healthy", func(*compliance.Overview) {}, []string{"Caldicott report for Trust A (2026-05-02 to 2026-05-31)\n",
			"✅ Rooms: 1 clinical, 0 operational, 0 social; every classified room is compliant.", "✅ Verification: 100% of 2 members",
			"✅ Membership reviews: none due or open.", "✅ Audit log: intact; 9 entries", "Staff directory: 2 active."}, []string{"•", "Held out", "❌", "⚠️"}},
		{"a room not compliant", func(o *compliance.Overview) {
			o.NonCompliant = []compliance.RoomSummary{{RoomID: "!bad:a.test", Class: "clinical", Problems: []string{"Encryption is off.", "Guests may join."}}}
		}, []string{"❌ Rooms: 1 clinical, 0 operational, 0 social; 1 room NOT compliant.\n  • !bad:a.test (clinical): Encryption is off. Guests may join.\n"}, nil},
		{"twelve rooms not compliant", func(o *compliance.Overview) { o.NonCompliant = many }, []string{"12 rooms NOT compliant", "  • and 2 more: see the compliance page."}, nil},
		{"a member not yet confirmed", func(o *compliance.Overview) { o.Verification.NotConfirmed, o.Verification.Verified = 1, 1 },
			[]string{"⚠️ Verification: 50% of 2 members of clinical rooms verified; 0 unverified, 0 suspended; 1 not yet confirmed"}, nil},
		{"members outside the directory", func(o *compliance.Overview) {
			o.OutsideDirectory = []compliance.Misplaced{{UserID: "@x:a.test", RoomID: "!r:a.test"}, {UserID: "@y:a.test", RoomID: "!r:a.test", Status: "left"}}
		}, []string{"  • @x:a.test in !r:a.test: not in the staff directory\n", "  • @y:a.test in !r:a.test: left in the staff directory\n"}, nil},
		{"reviews", func(o *compliance.Overview) {
			o.Reviews = []compliance.Review{{RoomID: "!e:a.test", Started: day, Escalated: true}, {RoomID: "!o:a.test", Started: day}, {RoomID: "!d:a.test", Due: day}}
		}, []string{"❌ Membership reviews: 3 reviews due or open.", "!e:a.test: review open since 2026-06-01, escalated", "!o:a.test: review open since 2026-06-01\n", "!d:a.test: review due since 2026-06-01"}, nil},
		{"a person held", func(o *compliance.Overview) {
			o.PersonHolds = []compliance.PersonHold{{UserID: "@dave:a.test", Reason: "lost device", Since: day}}
		}, []string{"Held out of clinical rooms: @dave:a.test (lost device, since 2026-06-01)."}, nil},
		{"an empty directory", func(o *compliance.Overview) { o.Directory = map[string]int{} }, []string{"Staff directory: empty."}, nil},
		{"deletion off", func(o *compliance.Overview) { o.Retention.Deleting = false }, []string{"❌ Deletion: OFF; nothing is deleted."}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := healthy
			c.spoil(&o)
			text := reportText(o)
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing %q in\n%s", w, text)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(text, a) {
					t.Errorf("%q should not be in\n%s", a, text)
				}
			}
			// One line per line of the page's overview, in its order.
			at := -1
			for _, l := range o.Glance() {
				i := strings.Index(text, l.Heading+": "+l.Words)
				if i <= at {
					t.Errorf("the page's %q line is missing or out of order", l.Key)
				}
				at = i
			}
		})
	}
}
