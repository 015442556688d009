package config

import (
	"strings"
	"time"
)

// UrgentReminder is policy.urgent_reminder: in clinical rooms, when a
// message reads as urgent, the bot reminds the room to phone — messages
// may not be seen in time. Off unless switched on; at most once per room
// per Every, so that a busy ward's room is not told it all shift.
type UrgentReminder struct {
	// Enabled switches the reminder on.
	Enabled bool `yaml:"enabled"`
	// Every is the least time between two reminders in one room.
	Every Duration `yaml:"every"`
	// Words are the phrases that make a message read as urgent, matched
	// whole and in any case ("NEWS 7" is not "NEWS 70").
	Words []string `yaml:"words"`
}

// DefaultUrgentWords are few and chosen to be seldom used idly, so the
// reminder stays rare enough to be read: no "emergency" (the Emergency
// Department is a place), no "stat".
var DefaultUrgentWords = []string{
	"urgent", "urgently", "deteriorating", "crash call", "arrest", "peri-arrest",
	"sepsis", "septic", "NEWS 7", "NEWS 8", "NEWS 9",
}

// Limits of the urgent reminder's settings.
const (
	DefaultUrgentEvery = 30 * time.Minute
	minUrgentEvery     = time.Minute
	maxUrgentWords     = 100
	maxUrgentWordLen   = 64
)

func (c *UrgentReminder) defaults() {
	setUnset(&c.Every, DefaultUrgentEvery)
	if c.Words == nil {
		c.Words = append([]string(nil), DefaultUrgentWords...)
	}
}

func (c *UrgentReminder) validate(p *problems) {
	const key = "policy.urgent_reminder"
	if c.Every.Duration < minUrgentEvery {
		p.add(key+".every", "%s is too short: a room reminded more often than once a minute stops reading the reminder (at least 1m; 30m is the default)", c.Every.Duration)
	}
	if c.Enabled && len(c.Words) == 0 {
		p.add(key+".words", "is empty, so no message would ever read as urgent; list the phrases or leave the key out for the defaults")
	}
	if len(c.Words) > maxUrgentWords {
		p.add(key+".words", "has %d phrases; at most %d (a long list reminds about everything)", len(c.Words), maxUrgentWords)
	}
	for _, w := range c.Words {
		if strings.TrimSpace(w) == "" || len(w) > maxUrgentWordLen {
			p.add(key+".words", "%q is not a phrase (1 to %d characters)", w, maxUrgentWordLen)
		}
	}
}
