package config

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseDuration checks the reading of a period typed in a command
// (`!policy retention 30d`, `!policy review-interval 90d`): one that is
// read is never negative, and n days read as exactly n days — a number of
// days too large for a duration is refused, not wrapped round to a short
// period that passes a command's bounds.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "90s", "5m", "24h", "7d", " 12h ", "-1d", "1.5d", "2562047h", "106751d", "default", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseDuration(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
		if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
			n, err := strconv.ParseInt(days, 10, 64)
			if err != nil || d/(24*time.Hour) != time.Duration(n) || d%(24*time.Hour) != 0 {
				t.Fatalf("ParseDuration(%q) = %v, not %s whole days", s, d, days)
			}
		}
	})
}
