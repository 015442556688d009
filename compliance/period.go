package compliance

import (
	"errors"
	"fmt"
	"time"
)

// Period is the span an evidence pack covers: From inclusive, To exclusive.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// DefaultDays is the period shown when none is asked for.
const DefaultDays = 30

// MaxDays bounds a period: three years of audit log is what an inspection
// asks for, and a longer scan would hold the database for nothing.
const MaxDays = 3 * 366

const dayLayout = "2006-01-02"

// ErrPeriod is wrapped by every refusal of ParsePeriod.
var ErrPeriod = errors.New("bad period")

// ParsePeriod reads a period given as two dates (YYYY-MM-DD, UTC; to is
// the last day included). Either may be empty: to defaults to today, from
// to DefaultDays before to.
func ParsePeriod(from, to string, now time.Time) (Period, error) {
	end := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	if to != "" {
		d, err := parseDay("to", to)
		if err != nil {
			return Period{}, err
		}
		end = d.AddDate(0, 0, 1)
	}
	start := end.AddDate(0, 0, -DefaultDays)
	if from != "" {
		d, err := parseDay("from", from)
		if err != nil {
			return Period{}, err
		}
		start = d
	}
	if !start.Before(end) {
		return Period{}, fmt.Errorf("%w: from (%s) is after to", ErrPeriod, start.Format(dayLayout))
	}
	if end.Sub(start) > MaxDays*24*time.Hour {
		return Period{}, fmt.Errorf("%w: a period is at most %d days", ErrPeriod, MaxDays)
	}
	return Period{From: start, To: end}, nil
}

func parseDay(name, s string) (time.Time, error) {
	if len(s) != len(dayLayout) {
		return time.Time{}, fmt.Errorf("%w: %s must be a date written YYYY-MM-DD", ErrPeriod, name)
	}
	d, err := time.Parse(dayLayout, s)
	if err != nil || d.Year() < 2000 || d.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%w: %s must be a date written YYYY-MM-DD", ErrPeriod, name)
	}
	return d, nil
}

// FromDay and LastDay are the period's dates as a form shows them.
func (p Period) FromDay() string { return p.From.UTC().Format(dayLayout) }

// LastDay is the last day the period includes.
func (p Period) LastDay() string { return p.To.UTC().Add(-time.Nanosecond).Format(dayLayout) }

// Contains says whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }
