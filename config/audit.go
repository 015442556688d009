package config

import (
	"fmt"
	"net/url"
	"time"
)

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
	// Witnesses are other trusts' homeservers that `caldicott audit verify`
	// reads the history of the published heads from: copies this trust's
	// operator cannot rewrite.
	Witnesses []Witness `yaml:"witnesses"`
}

// Witness is another trust's homeserver read by `audit verify`.
type Witness struct {
	// Homeserver is its client-server API URL.
	Homeserver string `yaml:"homeserver"`
	// AccessToken is an ordinary account's there, one that has joined this
	// trust's attestation room (given by that trust's IG team).
	AccessToken string `yaml:"access_token"`
	// BotKey is this trust's bot's master key as that trust's Caldicott
	// pinned it (unpadded base64). Empty: the key that homeserver serves.
	BotKey string `yaml:"bot_key"`
}

// Every is the publication interval in force (0: off).
func (a Audit) Every() time.Duration {
	if a.PublishInterval == nil {
		return DefaultAuditPublishInterval
	}
	return a.PublishInterval.Duration
}

// applyAuditEnv takes the admin API token from the environment.
func (c *Config) applyAuditEnv(getenv func(string) string) {
	if v := getenv(EnvAdminAPIToken); v != "" {
		c.AdminAPI.Token = v
	}
}

func (a *Audit) validate(p *problems) {
	if a.PublishInterval != nil && a.PublishInterval.Duration != 0 && a.PublishInterval.Duration < time.Second {
		p.add("audit.publish_interval", "is too short; at least 1s, or 0s to turn publication off")
	}
	for i, w := range a.Witnesses {
		*p = append(*p, w.Problems(fmt.Sprintf("audit.witnesses[%d]", i))...)
	}
}

// Problems checks one witness; key names it in the messages.
func (w Witness) Problems(key string) []Problem {
	var p []Problem
	if u, err := url.Parse(w.Homeserver); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, Problem{Key: key + ".homeserver", Msg: fmt.Sprintf("%q is not a homeserver URL (https://matrix.trust.nhs.uk)", w.Homeserver)})
	}
	if w.AccessToken == "" {
		p = append(p, Problem{Key: key + ".access_token", Msg: "is empty; ask that trust's IG team for an account's token"})
	}
	if w.BotKey != "" && !isMasterKey(w.BotKey) {
		p = append(p, Problem{Key: key + ".bot_key", Msg: "is not an ed25519 master key (43 characters of base64, as that trust's federation.bot_keys or pin_bot_key audit entry shows it)"})
	}
	return p
}
