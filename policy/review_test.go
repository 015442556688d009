package policy

import (
	"testing"
	"time"
)

func TestNextReviewStep(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	times := ReviewTimes{Grace: 7 * day, RemovalAfter: 14 * day}
	noRemoval := ReviewTimes{Grace: 7 * day}
	tests := []struct {
		name string
		s    ReviewState
		t    ReviewTimes
		want ReviewStep
	}{
		{"not yet due", ReviewState{NextDue: now.Add(time.Hour)}, times, ReviewNothing},
		{"due now", ReviewState{NextDue: now}, times, ReviewStart},
		{"overdue", ReviewState{NextDue: now.Add(-day)}, times, ReviewStart},
		{"never scheduled", ReviewState{}, times, ReviewNothing},
		{"open, within grace", ReviewState{Started: now.Add(-6 * day)}, times, ReviewNothing},
		{"open, grace over", ReviewState{Started: now.Add(-7 * day)}, times, ReviewEscalate},
		{"escalated, before removal deadline", ReviewState{Started: now.Add(-20 * day), Escalated: true}, times, ReviewNothing},
		{"escalated, removal deadline passed", ReviewState{Started: now.Add(-21 * day), Escalated: true}, times, ReviewRemoveUnconfirmed},
		{"escalated, removal off", ReviewState{Started: now.Add(-365 * day), Escalated: true}, noRemoval, ReviewNothing},
	}
	for _, tt := range tests {
		if got := NextReviewStep(tt.s, tt.t, now); got != tt.want {
			t.Errorf("%s: step = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestInactive(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if !Inactive(now.Add(-31*24*time.Hour), now, 30*24*time.Hour) {
		t.Error("31 days idle not inactive")
	}
	if Inactive(now.Add(-29*24*time.Hour), now, 30*24*time.Hour) || Inactive(time.Time{}, now, time.Hour) || Inactive(now.Add(-time.Hour*1000), now, 0) {
		t.Error("inactive wrongly")
	}
}

// BenchmarkReviewCycle10kRooms: the schedule's decision for 10,000 rooms.
func BenchmarkReviewCycle10kRooms(b *testing.B) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	states := make([]ReviewState, 10_000)
	for i := range states {
		states[i] = ReviewState{NextDue: now.Add(time.Duration(i-5000) * time.Minute)}
	}
	times := ReviewTimes{Grace: 7 * 24 * time.Hour}
	b.ReportAllocs()
	for b.Loop() {
		due := 0
		for _, s := range states {
			if NextReviewStep(s, times, now) != ReviewNothing {
				due++
			}
		}
		if due != 5001 {
			b.Fatalf("due = %d", due)
		}
	}
}
