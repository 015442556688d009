package config

import "time"

// DefaultAuditPublishInterval is how often the audit chain's head is
// published outside the database when the config does not say.
const DefaultAuditPublishInterval = time.Hour

// EnvAdminAPIToken overrides admin_api.token.
const EnvAdminAPIToken = "CALDICOTT_ADMIN_API_TOKEN"

// Audit configures the audit log's anchor outside the database.
type Audit struct {
	// PublishInterval is how often the chain's head (its last entry's
	// number and hash, signed by the bot's cross-signing key) is published
	// to the management and attestation rooms, when it changed. Unset: 1h;
	// 0 turns publication off.
	PublishInterval *Duration `yaml:"publish_interval"`
}

// Every is the publication interval in force (0: off).
func (a Audit) Every() time.Duration {
	if a.PublishInterval == nil {
		return DefaultAuditPublishInterval
	}
	return a.PublishInterval.Duration
}

// AdminAPI is Caldicott's HTTP admin API (/_caldicott/admin/v1/…): the
// subject-access export. Off while Token is empty.
type AdminAPI struct {
	// Token is the bearer token its callers present (at least 32 characters).
	Token string `yaml:"token"`
}

// applyAuditEnv takes the admin API token from the environment.
func (c *Config) applyAuditEnv(getenv func(string) string) {
	if v := getenv(EnvAdminAPIToken); v != "" {
		c.AdminAPI.Token = v
	}
}

// auditProblems checks the audit and admin API sections.
func (c *Config) auditProblems() []Problem {
	var p []Problem
	if c.Audit.PublishInterval != nil && c.Audit.PublishInterval.Duration != 0 && c.Audit.PublishInterval.Duration < time.Second {
		p = append(p, Problem{Key: "audit.publish_interval", Msg: "is too short; at least 1s, or 0s to turn publication off"})
	}
	if t := c.AdminAPI.Token; t != "" && len(t) < 32 {
		p = append(p, Problem{Key: "admin_api.token", Msg: "is too short; use at least 32 random characters"})
	}
	return p
}
