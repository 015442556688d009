package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// Problem is one thing wrong with the config, named by its key.
type Problem struct {
	Key string
	Msg string
}

// ValidationError lists every problem found, not just the first, so an
// operator fixes the file in one go.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%s: %s", p.Key, p.Msg)
	}
	return "invalid config: " + strings.Join(parts, "; ")
}

// GenerateToken is the placeholder that generate-registration replaces.
const GenerateToken = "generate"

var localpartRE = regexp.MustCompile(`^[a-z0-9._=/+-]+$`)

// Validate checks every key and reports all problems.
func (c *Config) Validate() error {
	var p []Problem
	add := func(key, format string, args ...any) {
		p = append(p, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	checkURL := func(key, value string) {
		if value == "" {
			add(key, "is required (e.g. http://127.0.0.1:8008)")
			return
		}
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(key, "%q is not an http(s) URL", value)
		}
	}
	checkURL("homeserver.address", c.Homeserver.Address)
	if c.Homeserver.Domain == "" {
		add("homeserver.domain", "is required: the server_name of your Dendrite")
	} else if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(c.Homeserver.Domain)); !ok {
		add("homeserver.domain", "%q is not a valid Matrix server name", c.Homeserver.Domain)
	}

	checkURL("appservice.address", c.AppService.Address)
	if c.AppService.Port < 1 || c.AppService.Port > 65535 {
		add("appservice.port", "%d is not a TCP port (1-65535)", c.AppService.Port)
	}
	if !localpartRE.MatchString(c.AppService.BotLocalpart) {
		add("appservice.bot_localpart", "%q is not a valid user localpart (lower-case letters, digits, ._=/+-)", c.AppService.BotLocalpart)
	}
	checkToken := func(key, env, value string) {
		switch {
		case value == "":
			add(key, "is missing: run 'caldicott generate-registration' or set %s", env)
		case value == GenerateToken:
			add(key, "is still %q: run 'caldicott generate-registration -c <config> -o registration.yaml' first", GenerateToken)
		case len(value) < 32:
			add(key, "is too short (%d characters); use at least 32 random characters", len(value))
		}
	}
	checkToken("appservice.as_token", EnvASToken, c.AppService.ASToken)
	checkToken("appservice.hs_token", EnvHSToken, c.AppService.HSToken)
	if c.AppService.ASToken != "" && c.AppService.ASToken != GenerateToken && c.AppService.ASToken == c.AppService.HSToken {
		add("appservice.hs_token", "must differ from as_token")
	}
	switch c.AppService.Encryption {
	case "enabled", "disabled":
	default:
		add("appservice.encryption", "%q is not enabled or disabled", c.AppService.Encryption)
	}
	if c.AppService.MaxTransactionBytes < 64<<10 {
		add("appservice.max_transaction_bytes", "%d is too small; at least 65536 (one event can be 64 KiB)", c.AppService.MaxTransactionBytes)
	}

	p = append(p, c.AppService.Timeouts.problems()...)

	switch c.Database.Type {
	case "sqlite":
		if c.Database.URI == "" {
			add("database.uri", "is required: a file path such as caldicott.db")
		}
	case "postgres":
		u, err := url.Parse(c.Database.URI)
		if c.Database.URI == "" {
			add("database.uri", "is required for postgres (or set %s)", EnvDatabaseURI)
		} else if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			add("database.uri", "is not a postgres:// URL")
		}
	default:
		add("database.type", "%q is not supported; use sqlite or postgres", c.Database.Type)
	}
	if c.Database.MaxOpenConns < 1 {
		add("database.max_open_conns", "must be at least 1")
	}

	if c.Trust.Name == "" {
		add("trust.name", "is required: a short name for your trust, shown in notices")
	}
	if mr := c.Trust.ManagementRoom; mr != "" && !strings.HasPrefix(mr, "#") && !strings.HasPrefix(mr, "!") {
		add("trust.management_room", "%q must be a room alias (#name:server) or a room ID (!id:server)", mr)
	}
	for i, u := range c.Trust.IGAdmins {
		if _, err := spec.NewUserID(u, true); err != nil {
			add(fmt.Sprintf("trust.ig_admins[%d]", i), "%q is not a Matrix user ID (@user:server)", u)
		}
	}

	for i, s := range c.Federation.Servers {
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(s)); !ok || strings.ContainsAny(s, "*?") {
			add(fmt.Sprintf("federation.servers[%d]", i), "%q is not a server name (write it as in the trust's user IDs, e.g. matrix.trust-b.nhs.uk, or 127.0.0.12:8448 when it has a port)", s)
		}
	}

	if a := c.Federation.AttestationAlias; strings.ContainsAny(a, "#:/ ") {
		add("federation.attestation_alias", "%q must be an alias localpart only (e.g. caldicott-attestations)", a)
	}
	for i, a := range c.Federation.AttestationRooms {
		local, server, found := strings.Cut(strings.TrimPrefix(a, "#"), ":")
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(server)); !strings.HasPrefix(a, "#") || !found || local == "" || !ok {
			add(fmt.Sprintf("federation.attestation_rooms[%d]", i), "%q is not a room alias (#name:server)", a)
		}
	}
	for u, k := range c.Federation.BotKeys {
		if _, err := spec.NewUserID(u, true); err != nil {
			add("federation.bot_keys", "%q is not a Matrix user ID (@user:server)", u)
		}
		if raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.ReplaceAll(k, " ", ""), "=")); err != nil || len(raw) != 32 {
			add("federation.bot_keys", "the key for %s is not an ed25519 master key (43 characters of base64, as `!policy verification` shows it)", u)
		}
	}

	if a := c.Federation.PolicyList; a != "" {
		local, server, found := strings.Cut(strings.TrimPrefix(a, "#"), ":")
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(server)); !strings.HasPrefix(a, "#") || !found || local == "" || !ok {
			add("federation.policy_list", "%q is not a room alias (#name:server)", a)
		}
	}
	for i, u := range c.Federation.Admins {
		if _, err := spec.NewUserID(u, true); err != nil {
			add(fmt.Sprintf("federation.admins[%d]", i), "%q is not a Matrix user ID (@user:server)", u)
		}
	}
	p = append(p, c.serverNameProblems()...)

	switch c.Policy.ClinicalHistoryVisibility {
	case "joined", "invited":
	default:
		add("policy.clinical_history_visibility", "%q is not allowed for clinical rooms; use joined or invited", c.Policy.ClinicalHistoryVisibility)
	}

	if f := c.Directory.MaxRemovalFraction; f <= 0 || f > 1 {
		add("directory.max_removal_fraction", "%v must be above 0 and at most 1 (e.g. 0.1 for 10%%)", f)
	}
	c.Directory.SCIM.check(add)
	if c.Directory.HoldMinRemovals < 1 {
		add("directory.hold_min_removals", "%d must be at least 1", c.Directory.HoldMinRemovals)
	}
	if w := c.Directory.RemovalWindow.Duration; w < time.Minute || w > MaxRemovalWindow {
		add("directory.removal_window", "%s must be between 1m and 30d", w)
	}
	if c.Directory.SyncInterval.Duration < 10*time.Second {
		add("directory.sync_interval", "%s is too short; at least 10s", c.Directory.SyncInterval.Duration)
	}
	if l := c.Directory.LDAP; l.URL != "" {
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			add("directory.ldap.url", "%q is not an ldap:// or ldaps:// URL", l.URL)
		}
		if l.BaseDN == "" {
			add("directory.ldap.base_dn", "is required when directory.ldap.url is set")
		}
		if l.PageSize < 1 || l.PageSize > 10000 {
			add("directory.ldap.page_size", "%d must be between 1 and 10000", l.PageSize)
		}
		if l.Attributes.UserID == "" && l.Attributes.Username == "" {
			add("directory.ldap.attributes.username", "set user_id or username so people can be matched to Matrix accounts")
		}
		if l.Attributes.Name == "" {
			add("directory.ldap.attributes.name", "is required")
		}
	}
	if c.Review.Interval.Duration < time.Hour {
		add("review.interval", "%s is too short; at least 1h", c.Review.Interval.Duration)
	}
	if c.Review.CheckInterval.Duration < time.Second {
		add("review.check_interval", "%s is too short; at least 1s", c.Review.CheckInterval.Duration)
	}
	for name, rc := range map[string]RetentionClass{"clinical": c.Retention.Clinical, "operational": c.Retention.Operational, "social": c.Retention.Social} {
		if rc.Min.Duration > rc.Max.Duration {
			add("retention."+name+".min", "%s is more than max (%s)", FormatDuration(rc.Min.Duration), FormatDuration(rc.Max.Duration))
		}
		if rc.Default.Duration < rc.Min.Duration || rc.Default.Duration > rc.Max.Duration {
			add("retention."+name+".default", "%s is outside min–max (%s–%s)", FormatDuration(rc.Default.Duration), FormatDuration(rc.Min.Duration), FormatDuration(rc.Max.Duration))
		}
	}
	if u := c.Records.FHIRBaseURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			add("records.fhir_base_url", "%q is not an http(s) URL", u)
		}
	}
	if c.Retention.Batch < 0 {
		add("retention.batch", "must be positive (redactions per room per sweep)")
	}
	if c.Retention.MediaPath != "" && !filepath.IsAbs(c.Retention.MediaPath) {
		add("retention.media_path", "%q must be an absolute path (Dendrite's media_api.base_path)", c.Retention.MediaPath)
	}
	switch c.Verification.Mode {
	case "suspend", "warn", "off":
	default:
		add("verification.mode", "%q is not suspend, warn or off", c.Verification.Mode)
	}
	if p := c.Verification.Prompt; p != "enabled" && p != "disabled" {
		add("verification.prompt", "%q is not enabled or disabled", p)
	}
	if c.Verification.CheckInterval.Duration < time.Second {
		add("verification.check_interval", "%s is too short; at least 1s", c.Verification.CheckInterval.Duration)
	}
	for i, path := range c.Bridges.Registrations {
		if _, err := bridgeNamespaces(path); err != nil {
			add(fmt.Sprintf("bridges.registrations[%d]", i), "%v", err)
		}
	}

	switch c.Logging.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("logging.level", "%q is not one of trace, debug, info, warn, error", c.Logging.Level)
	}
	switch c.Logging.Format {
	case "json", "pretty":
	default:
		add("logging.format", "%q is not json or pretty", c.Logging.Format)
	}
	p = append(p, c.auditProblems()...)
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// BotUserID is the bot's full Matrix user ID.
func (c *Config) BotUserID() string {
	return "@" + c.AppService.BotLocalpart + ":" + c.Homeserver.Domain
}
