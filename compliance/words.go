package compliance

import (
	"fmt"
	"time"
)

// DurationWords says a configured interval as people do: "15 minutes",
// "1 hour", "90 days".
func DurationWords(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return count(int(d/day), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return count(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return count(int(d/time.Minute), "minute")
	}
	return d.String()
}

func count(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
