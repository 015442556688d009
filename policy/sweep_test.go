package policy

import (
	"strings"
	"testing"
	"time"
)

func TestSweepPage(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	msg := func(id string, age time.Duration) SweepEvent {
		return SweepEvent{ID: id, Type: "m.room.message", Sent: ago(age)}
	}
	thirty := Retention{MaxLifetime: 30 * day}
	tests := []struct {
		name        string
		r           Retention
		held        bool
		events      []SweepEvent
		budget      int
		wantRedact  []string
		wantDone    bool
		wantBacklog int
		wantOldest  time.Time
	}{
		{"expired messages go, the first fresh one ends the pass", thirty, false,
			[]SweepEvent{msg("$a", 40*day), msg("$b", 31*day), msg("$c", 2*day), msg("$d", 50*day)}, 100,
			[]string{"$a", "$b"}, true, 0, ago(2 * day)},
		{"the newest message goes too when it has expired", thirty, false,
			[]SweepEvent{msg("$a", 40*day), msg("$last", 31*day)}, 100,
			[]string{"$a", "$last"}, false, 0, time.Time{}},
		{"every kind of content event goes; state, redactions and redacted events stay", thirty, false,
			[]SweepEvent{
				{ID: "$create", Type: "m.room.create", Sent: ago(90 * day), State: true},
				{ID: "$enc", Type: "m.room.encrypted", Sent: ago(60 * day)},
				{ID: "$react", Type: "m.reaction", Sent: ago(60 * day)},
				{ID: "$sticker", Type: "m.sticker", Sent: ago(60 * day)},
				{ID: "$red", Type: "m.room.redaction", Sent: ago(60 * day)},
				{ID: "$gone", Type: "m.room.message", Sent: ago(60 * day), Redacted: true},
			}, 100,
			[]string{"$enc", "$react", "$sticker"}, false, 0, time.Time{}},
		{"a legal hold deletes nothing", thirty, true,
			[]SweepEvent{msg("$a", 400*day)}, 100, nil, true, 0, time.Time{}},
		{"an unclassified room deletes nothing", Retention{}, false,
			[]SweepEvent{msg("$a", 400*day)}, 100, nil, true, 0, time.Time{}},
		{"the minimum lifetime wins over a shorter maximum", Retention{MaxLifetime: day, MinLifetime: 7 * day}, false,
			[]SweepEvent{msg("$a", 8*day), msg("$b", 3*day)}, 100, []string{"$a"}, true, 0, ago(3 * day)},
		{"beyond the budget, expired events are backlog", thirty, false,
			[]SweepEvent{msg("$a", 40*day), msg("$b", 39*day), msg("$c", 38*day), msg("$d", 1*day)}, 1,
			[]string{"$a"}, true, 2, ago(1 * day)},
		{"a message awaiting the patient record is kept, and counted", thirty, false,
			[]SweepEvent{msg("$a", 40*day), {ID: "$rec", Type: "m.room.message", Sent: ago(39 * day), Keep: true}, msg("$c", 38*day)}, 100,
			[]string{"$a", "$c"}, false, 1, time.Time{}},
		{"a message from the future never expires", thirty, false,
			[]SweepEvent{{ID: "$f", Type: "m.room.message", Sent: now.Add(day)}}, 100, nil, true, 0, now.Add(day)},
		{"exactly at the cutoff has expired", thirty, false,
			[]SweepEvent{msg("$a", 30*day)}, 100, []string{"$a"}, false, 0, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := SweepPage(now, tc.r, tc.held, tc.events, tc.budget)
			var got []string
			for _, a := range res.Decision.Actions {
				if a.Kind != Redact || a.Rule != RuleRetentionExpiry || a.Text == "" {
					t.Fatalf("unexpected action %+v", a)
				}
				got = append(got, a.EventID)
			}
			if len(got) != len(tc.wantRedact) {
				t.Fatalf("redacts %v, want %v", got, tc.wantRedact)
			}
			for i := range got {
				if got[i] != tc.wantRedact[i] {
					t.Fatalf("redacts %v, want %v", got, tc.wantRedact)
				}
			}
			if res.Done != tc.wantDone || res.Backlog != tc.wantBacklog || !res.OldestKept.Equal(tc.wantOldest) {
				t.Fatalf("done %v backlog %d oldest %v; want %v %d %v", res.Done, res.Backlog, res.OldestKept, tc.wantDone, tc.wantBacklog, tc.wantOldest)
			}
		})
	}
}

func TestSweepHealthAndAlerts(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	iv := 15 * time.Minute
	tests := []struct {
		name     string
		failures int64
		refused  bool
		backlog  int64
		caughtUp time.Time
		want     string
	}{
		{"a good pass", 0, false, 0, now, SweepHealthy},
		{"one failure may be a hiccup", 1, false, 0, now, SweepHealthy},
		{"two failures in a row", 2, false, 0, now, SweepFailing},
		{"refused by the homeserver", 1, true, 0, now, SweepFailing},
		{"backlog, caught up recently", 0, false, 500, now.Add(-iv), SweepHealthy},
		{"backlog, not caught up for over two intervals", 0, false, 500, now.Add(-31 * time.Minute), SweepBehind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SweepHealth(tc.failures, tc.refused, tc.backlog, tc.caughtUp, now, iv); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	alerts := []struct {
		name        string
		was, now    string
		lastError   string
		backlog     int64
		caughtUp    time.Time
		wantActions int
		wantText    []string
	}{
		{"same problem twice", SweepFailing, SweepFailing, "x", 0, time.Time{}, 0, nil},
		{"starts failing", SweepHealthy, SweepFailing, "the bot may not redact", 0, time.Time{}, 1, []string{"Ward 7", "the bot may not redact"}},
		{"falls behind", SweepHealthy, SweepBehind, "", 1200, now.Add(-95 * time.Minute), 1, []string{"1200 expired messages", "1 h 35 min ago"}},
		{"behind, never swept", SweepHealthy, SweepBehind, "", 1, time.Time{}, 1, []string{"1 expired message is", "never been fully swept"}},
		{"recovers", SweepFailing, SweepHealthy, "", 0, now, 1, []string{"back on schedule"}},
	}
	for _, tc := range alerts {
		t.Run("alert/"+tc.name, func(t *testing.T) {
			d := SweepAlert(tc.was, tc.now, "Ward 7", tc.lastError, tc.backlog, tc.caughtUp, now)
			if len(d.Actions) != tc.wantActions {
				t.Fatalf("got %d actions, want %d: %+v", len(d.Actions), tc.wantActions, d)
			}
			if tc.wantActions == 0 {
				return
			}
			if d.Actions[0].Kind != NotifyManagement {
				t.Fatalf("alert is %v, not a management notice", d.Actions[0].Kind)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(d.Actions[0].Text, w) {
					t.Errorf("alert %q does not say %q", d.Actions[0].Text, w)
				}
			}
			if strings.Contains(d.Actions[0].Text, ": .") {
				t.Errorf("alert has an empty reason: %q", d.Actions[0].Text)
			}
		})
	}
}

func TestSweepWorthReading(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	month := Retention{MaxLifetime: 30 * day}
	tests := []struct {
		name       string
		r          Retention
		held       bool
		oldestKept time.Time
		backlog    int64
		want       bool
	}{
		{"never swept", month, false, time.Time{}, 0, true},
		{"on hold", month, true, time.Time{}, 0, false},
		{"unclassified", Retention{}, false, time.Time{}, 0, false},
		{"oldest message still young", month, false, now.Add(-10 * day), 0, false},
		{"oldest message has expired since", month, false, now.Add(-31 * day), 0, true},
		{"expiring this very moment", month, false, now.Add(-30 * day), 0, true},
		{"expired messages left waiting", month, false, now.Add(-10 * day), 3, true},
		{"retention shortened since", Retention{MaxLifetime: 7 * day}, false, now.Add(-10 * day), 0, true},
		{"minimum lifetime holds it longer", Retention{MaxLifetime: 7 * day, MinLifetime: 14 * day}, false, now.Add(-10 * day), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SweepWorthReading(now, tc.r, tc.held, tc.oldestKept, tc.backlog); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
