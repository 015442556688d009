package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// RetentionEventType is the standard retention state event (MSC1763), as
// Synapse reads it: max_lifetime and min_lifetime in milliseconds.
const RetentionEventType = "m.room.retention"

// RetentionClassDefaultKey marks a retention setting made by `!policy
// retention default`: the room follows its class's default as the trust's
// config says it now, not the period written beside it (which is there
// for other readers of m.room.retention, and is the default when set).
const RetentionClassDefaultKey = "org.caldicott.class_default"

// RetentionLimits bound one class's retention period.
type RetentionLimits struct {
	Default, Min, Max time.Duration
}

// RetentionRules are the trust's limits for each class.
type RetentionRules map[Class]RetentionLimits

// Retention is how long a room keeps messages, and why.
type Retention struct {
	// MaxLifetime: messages older than this are deleted.
	MaxLifetime time.Duration
	// MinLifetime: nothing younger than this is ever deleted.
	MinLifetime time.Duration
	// FromRoom: the room's own setting applies (else the class default).
	FromRoom bool
	// Problem says, for the room, why its own setting was not taken as is.
	Problem string
}

// EffectiveRetention decides a room's retention from its class and its
// m.room.retention content (raw, nil when the room has none). An empty or
// unreadable setting means the class default — never "keep forever" and
// never "delete everything"; a setting outside the trust's bounds is held
// to them. Unclassified rooms keep everything (no deletion is decided).
func EffectiveRetention(c Class, raw json.RawMessage, rules RetentionRules) Retention {
	limits, ok := rules[c]
	if !ok {
		return Retention{}
	}
	r := Retention{MaxLifetime: limits.Default}
	if len(raw) == 0 {
		return r
	}
	var content struct {
		MaxLifetime  *float64 `json:"max_lifetime"`
		MinLifetime  *float64 `json:"min_lifetime"`
		ClassDefault bool     `json:"org.caldicott.class_default"`
	}
	err := json.Unmarshal(raw, &content)
	if err == nil && content.ClassDefault {
		return r
	}
	if err != nil || content.MaxLifetime == nil || !wholeMillis(*content.MaxLifetime) || *content.MaxLifetime <= 0 {
		r.Problem = fmt.Sprintf("This room's retention setting (%s) cannot be read, so messages are kept for the %s rooms' default of %s.", RetentionEventType, c, FormatDays(limits.Default))
		return r
	}
	set := time.Duration(*content.MaxLifetime) * time.Millisecond
	r.MaxLifetime, r.FromRoom = set, true
	switch {
	case set < limits.Min:
		r.MaxLifetime = limits.Min
		r.Problem = fmt.Sprintf("This room asks to keep messages for %s, less than the trust's minimum for %s rooms; they are kept for %s.", FormatDays(set), c, FormatDays(limits.Min))
	case set > limits.Max:
		r.MaxLifetime = limits.Max
		r.Problem = fmt.Sprintf("This room asks to keep messages for %s, more than the trust's maximum for %s rooms; they are kept for %s.", FormatDays(set), c, FormatDays(limits.Max))
	}
	if content.MinLifetime != nil && wholeMillis(*content.MinLifetime) && *content.MinLifetime > 0 {
		r.MinLifetime = min(time.Duration(*content.MinLifetime)*time.Millisecond, r.MaxLifetime)
	}
	return r
}

func wholeMillis(v float64) bool {
	return v == math.Trunc(v) && v < float64(math.MaxInt64/int64(time.Millisecond))
}

// SetRetention decides a room admin's `!policy retention <period|default>`:
// the state to send, or a refusal that says what is allowed.
func SetRetention(c Class, period time.Duration, useDefault bool, rules RetentionRules) (Decision, string) {
	limits, ok := rules[c]
	if !ok {
		return Decision{}, "Retention applies to classified rooms; classify this room first with `!policy classify clinical|operational|social`."
	}
	if useDefault {
		content := map[string]any{"max_lifetime": limits.Default.Milliseconds(), RetentionClassDefaultKey: true}
		what := fmt.Sprintf("keep messages for the %s rooms' default, now %s", c, FormatDays(limits.Default))
		return Decision{Actions: []Action{{Kind: SetState, Rule: RuleRetention, EventType: RetentionEventType, Content: content, Text: what, Reason: what}}}, ""
	}
	if period < limits.Min || period > limits.Max {
		return Decision{}, fmt.Sprintf("%s rooms keep messages for between %s and %s (the trust's limits); %s is outside them.", capitalise(string(c)), FormatDays(limits.Min), FormatDays(limits.Max), FormatDays(period))
	}
	content := map[string]any{"max_lifetime": period.Milliseconds()}
	what := "keep messages for " + FormatDays(period)
	return Decision{Actions: []Action{{Kind: SetState, Rule: RuleRetention, EventType: RetentionEventType, Content: content, Text: what, Reason: what}}}, ""
}

// FormatDays says a period as people do: whole days as "30 days", else hours.
func FormatDays(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d%day == 0 && d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	case d%time.Hour == 0 && d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}
