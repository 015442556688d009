package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestUrgentReminderSettings: off by default with the conservative words
// and a 30-minute period; a period under a minute, an empty list when on,
// a blank or overlong phrase and an overlong list are refused by key.
func TestUrgentReminderSettings(t *testing.T) {
	c, err := Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Policy.UrgentReminder
	if r.Enabled || r.Every.Duration != 30*time.Minute || !slices.Equal(r.Words, DefaultUrgentWords) {
		t.Fatalf("defaults: %+v", r)
	}
	on, err := Parse([]byte(validConfig + "policy: {urgent_reminder: {enabled: true, every: 45m, words: [\"bleep me\"]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := on.Policy.UrgentReminder; !r.Enabled || r.Every.Duration != 45*time.Minute || !slices.Equal(r.Words, []string{"bleep me"}) {
		t.Fatalf("as written: %+v", r)
	}

	tests := []struct {
		name  string
		spoil func(r *UrgentReminder)
		want  []string
	}{
		{"period too short", func(r *UrgentReminder) { r.Every.Duration = 10 * time.Second },
			[]string{"policy.urgent_reminder.every: 10s is too short: a room reminded more often than once a minute stops reading the reminder (at least 1m; 30m is the default)"}},
		{"on without words", func(r *UrgentReminder) { r.Enabled, r.Words = true, []string{} },
			[]string{"policy.urgent_reminder.words: is empty, so no message would ever read as urgent; list the phrases or leave the key out for the defaults"}},
		{"off without words", func(r *UrgentReminder) { r.Words = []string{} }, nil},
		{"blank phrase", func(r *UrgentReminder) { r.Words = []string{"urgent", "  "} },
			[]string{`policy.urgent_reminder.words: "  " is not a phrase (1 to 64 characters)`}},
		{"overlong phrase", func(r *UrgentReminder) { r.Words = []string{strings.Repeat("u", 65)} },
			[]string{`policy.urgent_reminder.words: "` + strings.Repeat("u", 65) + `" is not a phrase (1 to 64 characters)`}},
		{"too many phrases", func(r *UrgentReminder) { r.Words = slices.Repeat([]string{"urgent"}, 101) },
			[]string{"policy.urgent_reminder.words: has 101 phrases; at most 100 (a long list reminds about everything)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(validConfig))
			if err != nil {
				t.Fatal(err)
			}
			tt.spoil(&c.Policy.UrgentReminder)
			var got []string
			var ve *ValidationError
			if err := c.Validate(); errors.As(err, &ve) {
				for _, p := range ve.Problems {
					got = append(got, p.Key+": "+p.Msg)
				}
			} else if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
