package policy

import (
	"strings"
	"testing"
	"time"
)

// TestUrgentReminder: the reminder comes in clinical rooms only, for a
// message that reads as urgent, at most once per period, and never repeats
// the message.
func TestUrgentReminder(t *testing.T) {
	now := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	r := UrgentReminder{Words: []string{"urgent", "deteriorating", "crash call", "NEWS 7"}, Every: 30 * time.Minute}
	tests := []struct {
		name  string
		class Class
		text  string
		last  time.Time
		want  bool
	}{
		{"urgent, never reminded", Clinical, "Urgent: bed 4 needs review", time.Time{}, true},
		{"a phrase", Clinical, "put out a crash call for bay 2", time.Time{}, true},
		{"spaces inside a phrase", Clinical, "she is NEWS  7 now", time.Time{}, true},
		{"punctuation around a word", Clinical, "bed 6 (deteriorating).", time.Time{}, true},
		{"reminded long ago", Clinical, "urgent review please", now.Add(-31 * time.Minute), true},
		{"exactly one period ago", Clinical, "urgent review please", now.Add(-30 * time.Minute), true},
		{"reminded within the period", Clinical, "urgent review please", now.Add(-29 * time.Minute), false},
		{"a clock set back: still within", Clinical, "urgent review please", now.Add(time.Minute), false},
		{"nothing urgent", Clinical, "bed 4 is ready for theatre", time.Time{}, false},
		{"inside another word", Clinical, "the insurgents film was on", time.Time{}, false},
		{"a longer score", Clinical, "NEWS 70 of them", time.Time{}, false},
		{"only in a quoted reply", Clinical, "> <@a:t> urgent: bed 4\n\nthanks, seen", time.Time{}, false},
		{"social room", Social, "urgent: cake in the staff room", time.Time{}, false},
		{"operational room", Operational, "urgent: rota swap tonight", time.Time{}, false},
		{"unclassified room", Unclassified, "urgent", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.Decide(tt.class, tt.text, tt.last, now)
			if got := len(d.Actions) == 1; got != tt.want || len(d.Actions) > 1 {
				t.Fatalf("Decide(%s, %q) = %+v, want a reminder: %v", tt.class, tt.text, d.Actions, tt.want)
			}
			if !tt.want {
				return
			}
			a := d.Actions[0]
			if a.Kind != NotifyRoom || a.Rule != RuleUrgentReminder || a.Text != UrgentReminderText || len(a.Mentions) != 0 {
				t.Fatalf("the reminder is %+v, want a plain notice of UrgentReminderText", a)
			}
			if strings.Contains(a.Reason, tt.text) {
				t.Fatalf("the reminder repeats the message: %+v", a)
			}
		})
	}
}

// TestReadsAsUrgent: whole phrases, any case, no list no match.
func TestReadsAsUrgent(t *testing.T) {
	tests := []struct {
		text  string
		words []string
		want  bool
	}{
		{"SEPSIS six started", []string{"sepsis"}, true},
		{"sepsis", []string{"Sepsis"}, true},
		{"query sepsis?", []string{"sepsis"}, true},
		{"urgently", []string{"urgent"}, false},
		{"urgent", nil, false},
		{"urgent", []string{"", "  "}, false},
		{"peri-arrest in bay 3", []string{"arrest"}, true},
		{"é urgent é", []string{"urgent"}, true},
		{"éurgent", []string{"urgent"}, false},
		{"urgent urgentissimo", []string{"urgent"}, true},
		{"urgentissimo urgent", []string{"urgent"}, true},
		{"urgentissimo", []string{"urgent"}, false},
	}
	for _, tt := range tests {
		if got := ReadsAsUrgent(tt.text, tt.words); got != tt.want {
			t.Errorf("ReadsAsUrgent(%q, %q) = %v, want %v", tt.text, tt.words, got, tt.want)
		}
	}
}
