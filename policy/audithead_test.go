package policy

import "testing"

func TestAuditHeadDue(t *testing.T) {
	tests := []struct {
		name string
		f    AuditHeadFacts
		want bool
	}{
		{"empty log: nothing to publish", AuditHeadFacts{}, false},
		{"never published", AuditHeadFacts{Seq: 3}, true},
		{"unchanged", AuditHeadFacts{Seq: 3, PublishedSeq: 3}, false},
		{"only the publication's own entries since", AuditHeadFacts{Seq: 5, PublishedSeq: 3, RulesSincePublished: []string{RuleAuditHead, RuleAuditHead}}, false},
		{"a decision since", AuditHeadFacts{Seq: 6, PublishedSeq: 3, RulesSincePublished: []string{RuleAuditHead, RuleAuditHead, ""}}, true},
		{"an action since", AuditHeadFacts{Seq: 4, PublishedSeq: 3, RulesSincePublished: []string{RuleSuspension}}, true},
		{"the database is behind what was published (restored or truncated): nothing to publish over it", AuditHeadFacts{Seq: 2, PublishedSeq: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AuditHeadDue(tt.f); got != tt.want {
				t.Errorf("AuditHeadDue(%+v) = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
}

func TestPublishAuditHead(t *testing.T) {
	d := PublishAuditHead(7, map[string]any{"seq": 7, "hash": "ab"})
	if len(d.Actions) != 1 {
		t.Fatalf("actions = %+v", d.Actions)
	}
	a := d.Actions[0]
	if a.Kind != SetState || a.Rule != RuleAuditHead || a.EventType != AuditHeadEventType || a.StateKey != "" || a.Content["hash"] != "ab" {
		t.Errorf("action = %+v", a)
	}
}

func BenchmarkAuditHeadDue(b *testing.B) {
	f := AuditHeadFacts{Seq: 1000, PublishedSeq: 990, RulesSincePublished: []string{RuleAuditHead, RuleAuditHead, RuleAuditHead, RuleAuditHead, RuleAuditHead, RuleAuditHead, RuleAuditHead, RuleAuditHead, RuleAuditHead, ""}}
	for b.Loop() {
		if !AuditHeadDue(f) {
			b.Fatal("not due")
		}
	}
}
