package config

import (
	"time"
)

// Verification enforces cross-signing verification in clinical rooms.
type Verification struct {
	// Mode is suspend (remove members who stay unverified past their grace),
	// warn (only tell them) or off.
	Mode string `yaml:"mode"`
	// Prompt is enabled (a member of the trust not yet confirmed is sent an
	// emoji verification request when first warned) or disabled.
	Prompt string `yaml:"prompt"`
	// NewMemberGrace is how long a member may lack verification.
	NewMemberGrace Duration `yaml:"new_member_grace"`
	// NewDeviceGrace is how long a new device may stay unverified.
	NewDeviceGrace Duration `yaml:"new_device_grace"`
	// CheckInterval is how often every member of a clinical room is checked
	// (device changes are also noticed within seconds).
	CheckInterval Duration `yaml:"check_interval"`
}

func (v *Verification) defaults() {
	setDefault(&v.Mode, "suspend")
	setDefault(&v.Prompt, "enabled")
	setDefault(&v.NewMemberGrace.Duration, 24*time.Hour)
	setDefault(&v.NewDeviceGrace.Duration, time.Hour)
	setDefault(&v.CheckInterval.Duration, 5*time.Minute)
}

func (v *Verification) validate(p *problems) {
	switch v.Mode {
	case "suspend", "warn", "off":
	default:
		p.add("verification.mode", "%q is not suspend, warn or off", v.Mode)
	}
	if v.Prompt != "enabled" && v.Prompt != "disabled" {
		p.add("verification.prompt", "%q is not enabled or disabled", v.Prompt)
	}
	if v.CheckInterval.Duration < time.Second {
		p.add("verification.check_interval", "%s is too short; at least 1s", v.CheckInterval.Duration)
	}
}
