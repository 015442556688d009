package config

import (
	"time"
)

// Policy holds defaults for the rules.
type Policy struct {
	// DryRun makes the executor log and audit what it would do without doing it.
	DryRun bool `yaml:"dry_run"`
	// ClinicalHistoryVisibility is joined or invited.
	ClinicalHistoryVisibility string `yaml:"clinical_history_visibility"`
	// ReconcileInterval re-checks every clinical room this often (besides start-up); 0 disables.
	ReconcileInterval Duration `yaml:"reconcile_interval"`
	// UrgentReminder reminds clinical rooms to phone when a message reads
	// as urgent; off by default.
	UrgentReminder UrgentReminder `yaml:"urgent_reminder"`
}

func (c *Policy) defaults() {
	setDefault(&c.ClinicalHistoryVisibility, "joined")
	setUnset(&c.ReconcileInterval, time.Hour)
	c.UrgentReminder.defaults()
}

func (c *Policy) validate(p *problems) {
	c.UrgentReminder.validate(p)
	switch c.ClinicalHistoryVisibility {
	case "joined", "invited":
	default:
		p.add("policy.clinical_history_visibility", "%q is not allowed for clinical rooms; use joined or invited", c.ClinicalHistoryVisibility)
	}
}
