package config

import "time"

// DefaultMaxTransactionBytes bounds one transaction body. Dendrite sends at most
// 50 events per transaction, and an event is at most 64 KiB, so 8 MiB is ample.
const DefaultMaxTransactionBytes = 8 << 20

func (c *Config) applyDefaults() {
	setDefault(&c.AppService.Hostname, "127.0.0.1")
	if c.AppService.Port == 0 {
		c.AppService.Port = 29330
	}
	setDefault(&c.AppService.ID, "caldicott")
	setDefault(&c.AppService.BotLocalpart, "caldicott")
	setDefault(&c.AppService.BotDisplayName, "Caldicott")
	if c.AppService.MaxTransactionBytes == 0 {
		c.AppService.MaxTransactionBytes = DefaultMaxTransactionBytes
	}
	setDefault(&c.AppService.Encryption, "enabled")
	c.AppService.Timeouts.applyDefaults()
	setDefault(&c.Database.Type, "sqlite")
	if c.Database.Type == "sqlite" {
		setDefault(&c.Database.URI, "caldicott.db")
	}
	if c.Database.MaxOpenConns == 0 {
		c.Database.MaxOpenConns = 10
	}
	setDefault(&c.Federation.AttestationAlias, "caldicott-attestations")
	setDefault(&c.Policy.ClinicalHistoryVisibility, "joined")
	if !c.Policy.ReconcileInterval.set {
		c.Policy.ReconcileInterval.Duration = time.Hour
	}
	if c.Directory.SyncInterval.Duration == 0 {
		c.Directory.SyncInterval.Duration = 5 * time.Minute
	}
	if c.Directory.MaxRemovalFraction == 0 {
		c.Directory.MaxRemovalFraction = 0.1
	}
	if c.Directory.HoldMinRemovals == 0 {
		c.Directory.HoldMinRemovals = 5
	}
	if c.Directory.RemovalWindow.Duration == 0 {
		c.Directory.RemovalWindow.Duration = 24 * time.Hour
	}
	l := &c.Directory.LDAP
	setDefault(&l.Filter, "(objectClass=inetOrgPerson)")
	if l.PageSize == 0 {
		l.PageSize = 500
	}
	if l.FullSyncInterval.Duration == 0 {
		l.FullSyncInterval.Duration = 24 * time.Hour
	}
	setDefault(&l.Attributes.Username, "uid")
	setDefault(&l.Attributes.Name, "cn")
	setDefault(&l.Attributes.Role, "title")
	setDefault(&l.Attributes.Team, "ou")
	setDefault(&l.Attributes.Registration, "employeeNumber")
	setDefault(&l.Attributes.Status, "employeeType")
	day := 24 * time.Hour
	for _, rc := range []struct {
		c                *RetentionClass
		def, floor, ceil time.Duration
	}{
		{&c.Retention.Clinical, 30 * day, day, 365 * day},
		{&c.Retention.Operational, 90 * day, day, 730 * day},
		{&c.Retention.Social, 7 * day, 12 * time.Hour, 90 * day},
	} {
		if rc.c.Default.Duration == 0 {
			rc.c.Default.Duration = rc.def
		}
		if rc.c.Min.Duration == 0 {
			rc.c.Min.Duration = rc.floor
		}
		if rc.c.Max.Duration == 0 {
			rc.c.Max.Duration = rc.ceil
		}
	}
	if !c.Retention.SweepInterval.set {
		c.Retention.SweepInterval.Duration = 15 * time.Minute
	}
	if !c.Records.RemindBefore.set {
		c.Records.RemindBefore.Duration = 24 * time.Hour
	}
	if c.Retention.Batch == 0 {
		c.Retention.Batch = 500
	}
	r := &c.Review
	if r.Interval.Duration == 0 {
		r.Interval.Duration = 90 * 24 * time.Hour
	}
	if r.Grace.Duration == 0 {
		r.Grace.Duration = 7 * 24 * time.Hour
	}
	if r.InactiveAfter.Duration == 0 {
		r.InactiveAfter.Duration = 30 * 24 * time.Hour
	}
	if r.CheckInterval.Duration == 0 {
		r.CheckInterval.Duration = 10 * time.Minute
	}
	v := &c.Verification
	setDefault(&v.Mode, "suspend")
	setDefault(&v.Prompt, "enabled")
	if v.NewMemberGrace.Duration == 0 {
		v.NewMemberGrace.Duration = 24 * time.Hour
	}
	if v.NewDeviceGrace.Duration == 0 {
		v.NewDeviceGrace.Duration = time.Hour
	}
	if v.CheckInterval.Duration == 0 {
		v.CheckInterval.Duration = 5 * time.Minute
	}
	setDefault(&c.Logging.Level, "info")
	setDefault(&c.Logging.Format, "json")
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}
