package config

import "time"

// MaxRemovalWindow bounds directory.removal_window; the store keeps its log
// of removals a little longer, so a window never looks past its end.
const MaxRemovalWindow = 30 * 24 * time.Hour

// Directory configures the trust's staff directory.
type Directory struct {
	// SyncInterval is how often members of clinical rooms are checked against
	// the directory, so leavers lose access within one interval.
	SyncInterval Duration `yaml:"sync_interval"`
	// MaxRemovalFraction holds an update that would move more than this share
	// of active staff to suspended or left, until an admin confirms it.
	MaxRemovalFraction float64 `yaml:"max_removal_fraction"`
	// HoldMinRemovals: updates removing fewer people than this are never held.
	HoldMinRemovals int `yaml:"hold_min_removals"`
	// RemovalWindow is how far back a source's removals are counted with an
	// update's own against MaxRemovalFraction, so many small updates (SCIM's
	// one person per request, frequent LDAP syncs) are held as one large one
	// would be. Counting starts afresh when an admin confirms.
	RemovalWindow Duration `yaml:"removal_window"`
	// LDAP syncs the directory from LDAP or Active Directory; off when URL is empty.
	LDAP LDAP `yaml:"ldap"`
	// SCIM lets an identity provider push staff; off when Token is empty.
	SCIM SCIM `yaml:"scim"`
}

func (d *Directory) defaults() {
	setDefault(&d.SyncInterval.Duration, 5*time.Minute)
	setDefault(&d.MaxRemovalFraction, 0.1)
	setDefault(&d.HoldMinRemovals, 5)
	setDefault(&d.RemovalWindow.Duration, 24*time.Hour)
	d.LDAP.defaults()
}

func (d *Directory) validate(p *problems) {
	if f := d.MaxRemovalFraction; f <= 0 || f > 1 {
		p.add("directory.max_removal_fraction", "%v must be above 0 and at most 1 (e.g. 0.1 for 10%%)", f)
	}
	d.SCIM.check(p.add)
	if d.HoldMinRemovals < 1 {
		p.add("directory.hold_min_removals", "%d must be at least 1", d.HoldMinRemovals)
	}
	if w := d.RemovalWindow.Duration; w < time.Minute || w > MaxRemovalWindow {
		p.add("directory.removal_window", "%s must be between 1m and 30d", w)
	}
	if d.SyncInterval.Duration < 10*time.Second {
		p.add("directory.sync_interval", "%s is too short; at least 10s", d.SyncInterval.Duration)
	}
	d.LDAP.validate(p)
}
