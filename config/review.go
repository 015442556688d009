package config

import (
	"time"
)

// Review schedules clinical rooms' membership reviews.
type Review struct {
	// Interval between reviews of a room, unless the room sets its own.
	Interval Duration `yaml:"interval"`
	// Grace is how long room admins have to confirm before the management room is told.
	Grace Duration `yaml:"grace"`
	// RemovalAfter, after escalation, removes members of an unconfirmed
	// review who are not room admins; 0 turns removal off.
	RemovalAfter Duration `yaml:"removal_after"`
	// InactiveAfter flags members in the review who have not posted for this long.
	InactiveAfter Duration `yaml:"inactive_after"`
	// CheckInterval is how often the schedule is looked at.
	CheckInterval Duration `yaml:"check_interval"`
}

func (r *Review) defaults() {
	setDefault(&r.Interval.Duration, 90*24*time.Hour)
	setDefault(&r.Grace.Duration, 7*24*time.Hour)
	setDefault(&r.InactiveAfter.Duration, 30*24*time.Hour)
	setDefault(&r.CheckInterval.Duration, 10*time.Minute)
}

func (r *Review) validate(p *problems) {
	if r.Interval.Duration < time.Hour {
		p.add("review.interval", "%s is too short; at least 1h", r.Interval.Duration)
	}
	if r.CheckInterval.Duration < time.Second {
		p.add("review.check_interval", "%s is too short; at least 1s", r.CheckInterval.Duration)
	}
}
