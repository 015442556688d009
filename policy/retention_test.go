package policy

import (
	"strings"
	"testing"
	"time"
)

var testRetention = RetentionRules{
	Clinical: {Default: 30 * 24 * time.Hour, Min: 24 * time.Hour, Max: 365 * 24 * time.Hour},
	Social:   {Default: 7 * 24 * time.Hour, Min: 12 * time.Hour, Max: 90 * 24 * time.Hour},
}

func TestEffectiveRetention(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name        string
		class       Class
		raw         string
		wantMax     time.Duration
		wantMin     time.Duration
		fromRoom    bool
		wantProblem string
	}{
		{"no setting: the class default", Clinical, "", 30 * day, 0, false, ""},
		{"the room's own period", Clinical, `{"max_lifetime": 1209600000}`, 14 * day, 0, true, ""},
		{"with a minimum", Clinical, `{"max_lifetime": 1209600000, "min_lifetime": 86400000}`, 14 * day, day, true, ""},
		{"a minimum above the maximum is held to it", Clinical, `{"max_lifetime": 172800000, "min_lifetime": 864000000}`, 2 * day, 2 * day, true, ""},
		{"empty content: the default, said", Clinical, `{}`, 30 * day, 0, false, "cannot be read"},
		{"malformed JSON: the default", Clinical, `{"max_lifetime":`, 30 * day, 0, false, "cannot be read"},
		{"zero would delete everything: the default", Clinical, `{"max_lifetime": 0}`, 30 * day, 0, false, "cannot be read"},
		{"negative: the default", Clinical, `{"max_lifetime": -5}`, 30 * day, 0, false, "cannot be read"},
		{"a string: the default", Clinical, `{"max_lifetime": "30d"}`, 30 * day, 0, false, "cannot be read"},
		{"a fraction of a millisecond: the default", Clinical, `{"max_lifetime": 1.5}`, 30 * day, 0, false, "cannot be read"},
		{"above the trust's maximum: held to it", Clinical, `{"max_lifetime": 63072000000}`, 365 * day, 0, true, "more than the trust's maximum"},
		{"below the floor: held to it", Clinical, `{"max_lifetime": 3600000}`, day, 0, true, "less than the trust's minimum"},
		{"social default", Social, "", 7 * day, 0, false, ""},
		{"set to follow the default: today's default, whatever period is beside it", Clinical, `{"max_lifetime": 1209600000, "org.caldicott.class_default": true}`, 30 * day, 0, false, ""},
		{"the marker false: the room's own period", Clinical, `{"max_lifetime": 1209600000, "org.caldicott.class_default": false}`, 14 * day, 0, true, ""},
		{"unclassified keeps everything", Unclassified, `{"max_lifetime": 1}`, 0, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EffectiveRetention(tt.class, []byte(tt.raw), testRetention)
			if got.MaxLifetime != tt.wantMax || got.MinLifetime != tt.wantMin || got.FromRoom != tt.fromRoom {
				t.Errorf("got max %s min %s fromRoom %v; want %s %s %v", got.MaxLifetime, got.MinLifetime, got.FromRoom, tt.wantMax, tt.wantMin, tt.fromRoom)
			}
			if (tt.wantProblem == "") != (got.Problem == "") || !strings.Contains(got.Problem, tt.wantProblem) {
				t.Errorf("problem = %q, want %q", got.Problem, tt.wantProblem)
			}
		})
	}
}

func TestSetRetention(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name       string
		class      Class
		period     time.Duration
		useDefault bool
		wantMs     int64
		wantRefuse string
	}{
		{"within bounds", Clinical, 14 * day, false, (14 * day).Milliseconds(), ""},
		{"back to the default", Clinical, 0, true, (30 * day).Milliseconds(), ""},
		{"above the maximum refused", Clinical, 400 * day, false, 0, "between 1 day and 365 days"},
		{"below the minimum refused", Clinical, 12 * time.Hour, false, 0, "12 hours is outside"},
		{"social may keep half a day", Social, 12 * time.Hour, false, (12 * time.Hour).Milliseconds(), ""},
		{"unclassified refused", Unclassified, day, false, 0, "classify this room first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, refusal := SetRetention(tt.class, tt.period, tt.useDefault, testRetention)
			if tt.wantRefuse != "" {
				if !strings.Contains(refusal, tt.wantRefuse) || len(d.Actions) != 0 {
					t.Errorf("refusal %q (actions %d), want %q", refusal, len(d.Actions), tt.wantRefuse)
				}
				return
			}
			if refusal != "" || len(d.Actions) != 1 || d.Actions[0].EventType != RetentionEventType || d.Actions[0].Content["max_lifetime"] != tt.wantMs {
				t.Errorf("decision %+v, refusal %q", d, refusal)
				return
			}
			// Only "default" follows the class default from then on.
			if marked := d.Actions[0].Content[RetentionClassDefaultKey] == true; marked != tt.useDefault {
				t.Errorf("class-default marker %v, want %v", marked, tt.useDefault)
			}
		})
	}
}
