package config

import (
	"path/filepath"
	"time"
)

// Retention is how long messages are kept, per room class. A room may set
// its own period (the standard m.room.retention event) within its class's
// bounds.
type Retention struct {
	Clinical    RetentionClass `yaml:"clinical"`
	Operational RetentionClass `yaml:"operational"`
	Social      RetentionClass `yaml:"social"`
	// Delete switches automatic deletion on (the default) or off; off, the
	// periods are still set and shown, and status says nothing is deleted.
	Delete *bool `yaml:"delete"`
	// SweepInterval is how often every room is swept for expired messages.
	SweepInterval Duration `yaml:"sweep_interval"`
	// Batch bounds the redactions in one room per sweep, so a large backlog
	// is spread over several sweeps and the homeserver stays responsive.
	Batch int `yaml:"batch"`
	// MediaPath is Dendrite's media_api.base_path, when Caldicott runs on
	// the same host: files of expired messages in unencrypted rooms are
	// deleted from it too. Empty: files are left (see docs/operations.md).
	MediaPath string `yaml:"media_path"`
}

// Deleting says whether automatic deletion runs.
func (r Retention) Deleting() bool { return r.Delete == nil || *r.Delete }

// RetentionClass bounds one class's retention period.
type RetentionClass struct {
	// Default applies where the room sets none (or sets one unreadable).
	Default Duration `yaml:"default"`
	// Min and Max bound what a room admin may set.
	Min Duration `yaml:"min"`
	Max Duration `yaml:"max"`
}

func (r *Retention) defaults() {
	day := 24 * time.Hour
	r.Clinical.defaults(30*day, day, 365*day)
	r.Operational.defaults(90*day, day, 730*day)
	r.Social.defaults(7*day, 12*time.Hour, 90*day)
	setUnset(&r.SweepInterval, 15*time.Minute)
	setDefault(&r.Batch, 500)
}

func (r *Retention) validate(p *problems) {
	r.Clinical.validate(p, "retention.clinical")
	r.Operational.validate(p, "retention.operational")
	r.Social.validate(p, "retention.social")
	if r.Batch < 0 {
		p.add("retention.batch", "must be positive (redactions per room per sweep)")
	}
	if r.MediaPath != "" && !filepath.IsAbs(r.MediaPath) {
		p.add("retention.media_path", "%q must be an absolute path (Dendrite's media_api.base_path)", r.MediaPath)
	}
}

func (rc *RetentionClass) defaults(def, floor, ceil time.Duration) {
	setDefault(&rc.Default.Duration, def)
	setDefault(&rc.Min.Duration, floor)
	setDefault(&rc.Max.Duration, ceil)
}

// validate checks one class, named by key.
func (rc *RetentionClass) validate(p *problems, key string) {
	if rc.Min.Duration > rc.Max.Duration {
		p.add(key+".min", "%s is more than max (%s)", FormatDuration(rc.Min.Duration), FormatDuration(rc.Max.Duration))
	}
	if rc.Default.Duration < rc.Min.Duration || rc.Default.Duration > rc.Max.Duration {
		p.add(key+".default", "%s is outside min–max (%s–%s)", FormatDuration(rc.Default.Duration), FormatDuration(rc.Min.Duration), FormatDuration(rc.Max.Duration))
	}
}
