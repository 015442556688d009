package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSectionProblems pins, section by section, every problem Validate
// reports: each row breaks one valid config and expects exactly these
// problems (key and message in full), no more.
func TestSectionProblems(t *testing.T) {
	long := strings.Repeat("x", 40)
	key := strings.Repeat("A", 43)
	day := 24 * time.Hour
	tests := []struct {
		name  string
		spoil func(c *Config)
		want  []string
	}{
		{"homeserver address missing", func(c *Config) { c.Homeserver.Address = "" },
			[]string{"homeserver.address: is required (e.g. http://127.0.0.1:8008)"}},
		{"homeserver address not http", func(c *Config) { c.Homeserver.Address = "ftp://x" },
			[]string{`homeserver.address: "ftp://x" is not an http(s) URL`}},
		{"homeserver domain missing", func(c *Config) { c.Homeserver.Domain = "" },
			[]string{"homeserver.domain: is required: the server_name of your Dendrite"}},
		{"homeserver domain bad", func(c *Config) { c.Homeserver.Domain = "a b" },
			[]string{`homeserver.domain: "a b" is not a valid Matrix server name`}},

		{"appservice address", func(c *Config) { c.AppService.Address = "x" },
			[]string{`appservice.address: "x" is not an http(s) URL`}},
		{"appservice port", func(c *Config) { c.AppService.Port = 70000 },
			[]string{"appservice.port: 70000 is not a TCP port (1-65535)"}},
		{"appservice localpart", func(c *Config) { c.AppService.BotLocalpart = "Bot" },
			[]string{`appservice.bot_localpart: "Bot" is not a valid user localpart (lower-case letters, digits, ._=/+-)`}},
		{"appservice tokens missing", func(c *Config) { c.AppService.ASToken, c.AppService.HSToken = "", "" },
			[]string{"appservice.as_token: is missing: run 'caldicott generate-registration' or set CALDICOTT_AS_TOKEN",
				"appservice.hs_token: is missing: run 'caldicott generate-registration' or set CALDICOTT_HS_TOKEN"}},
		{"appservice token placeholder", func(c *Config) { c.AppService.HSToken = GenerateToken },
			[]string{`appservice.hs_token: is still "generate": run 'caldicott generate-registration -c <config> -o registration.yaml' first`}},
		{"appservice token short", func(c *Config) { c.AppService.ASToken = "short" },
			[]string{"appservice.as_token: is too short (5 characters); use at least 32 random characters"}},
		{"appservice tokens equal", func(c *Config) { c.AppService.ASToken, c.AppService.HSToken = long, long },
			[]string{"appservice.hs_token: must differ from as_token"}},
		{"appservice encryption", func(c *Config) { c.AppService.Encryption = "on" },
			[]string{`appservice.encryption: "on" is not enabled or disabled`}},
		{"appservice plaintext with a device", func(c *Config) { c.AppService.PlaintextInEncryptedRooms = true },
			[]string{"appservice.plaintext_in_encrypted_rooms: needs encryption: disabled (with the bot's encryption device, its messages to encrypted rooms are encrypted)"}},
		{"appservice transaction bytes", func(c *Config) { c.AppService.MaxTransactionBytes = 1000 },
			[]string{"appservice.max_transaction_bytes: 1000 is too small; at least 65536 (one event can be 64 KiB)"}},
		{"appservice timeouts", func(c *Config) { c.AppService.Timeouts.Idle.Duration = 0 },
			[]string{"appservice.timeouts.idle: 0s is too short; at least 100ms (it cannot be off: a slow client would hold connections open)"}},

		{"database sqlite without uri", func(c *Config) { c.Database.URI = "" },
			[]string{"database.uri: is required: a file path such as caldicott.db"}},
		{"database postgres without uri", func(c *Config) { c.Database.Type, c.Database.URI = "postgres", "" },
			[]string{"database.uri: is required for postgres (or set CALDICOTT_DATABASE_URI)"}},
		{"database postgres bad uri", func(c *Config) { c.Database.Type, c.Database.URI = "postgres", "mysql://x" },
			[]string{"database.uri: is not a postgres:// URL"}},
		{"database type", func(c *Config) { c.Database.Type = "mysql" },
			[]string{`database.type: "mysql" is not supported; use sqlite or postgres`}},
		{"database connections", func(c *Config) { c.Database.MaxOpenConns = 0 },
			[]string{"database.max_open_conns: must be at least 1"}},

		{"trust name", func(c *Config) { c.Trust.Name = "" },
			[]string{"trust.name: is required: a short name for your trust, shown in notices"}},
		{"trust management room", func(c *Config) { c.Trust.ManagementRoom = "mgmt" },
			[]string{`trust.management_room: "mgmt" must be a room alias (#name:server) or a room ID (!id:server)`}},
		{"trust ig admins", func(c *Config) { c.Trust.IGAdmins = []string{"@ok:a.nhs.uk", "ig"} },
			[]string{`trust.ig_admins[1]: "ig" is not a Matrix user ID (@user:server)`}},

		{"federation servers", func(c *Config) { c.Federation.Servers = []string{"*.nhs.uk"} },
			[]string{`federation.servers[0]: "*.nhs.uk" is not a server name (write it as in the trust's user IDs, e.g. matrix.trust-b.nhs.uk, or 127.0.0.12:8448 when it has a port)`}},
		{"federation attestation alias", func(c *Config) { c.Federation.AttestationAlias = "#a:b" },
			[]string{`federation.attestation_alias: "#a:b" must be an alias localpart only (e.g. caldicott-attestations)`}},
		{"federation attestation rooms", func(c *Config) { c.Federation.AttestationRooms = []string{"#a:b.nhs.uk", "a"} },
			[]string{`federation.attestation_rooms[1]: "a" is not a room alias (#name:server)`}},
		{"federation bot keys", func(c *Config) { c.Federation.BotKeys = map[string]string{"bot": "abc"} },
			[]string{`federation.bot_keys: "bot" is not a Matrix user ID (@user:server)`,
				"federation.bot_keys: the key for bot is not an ed25519 master key (43 characters of base64, as `!policy verification` shows it)"}},
		{"federation bot keys valid", func(c *Config) { c.Federation.BotKeys = map[string]string{"@caldicott:b.nhs.uk": key} }, nil},
		{"federation policy list", func(c *Config) { c.Federation.PolicyList = "#list" },
			[]string{`federation.policy_list: "#list" is not a room alias (#name:server)`}},
		{"federation admins", func(c *Config) { c.Federation.Admins = []string{"admin"} },
			[]string{`federation.admins[0]: "admin" is not a Matrix user ID (@user:server)`}},
		{"federation bots", func(c *Config) { c.Federation.Bots = map[string]string{"b.nhs.uk": "bot"} },
			[]string{`federation.bots: "bot" for b.nhs.uk is not a Matrix user ID (@user:server)`}},

		{"policy history", func(c *Config) { c.Policy.ClinicalHistoryVisibility = "shared" },
			[]string{`policy.clinical_history_visibility: "shared" is not allowed for clinical rooms; use joined or invited`}},

		{"directory fraction", func(c *Config) { c.Directory.MaxRemovalFraction = 2 },
			[]string{"directory.max_removal_fraction: 2 must be above 0 and at most 1 (e.g. 0.1 for 10%)"}},
		{"directory scim", func(c *Config) { c.Directory.SCIM.Token = "short" },
			[]string{"directory.scim.token: is too short (5 characters); use at least 32 random characters"}},
		{"directory hold", func(c *Config) { c.Directory.HoldMinRemovals = -1 },
			[]string{"directory.hold_min_removals: -1 must be at least 1"}},
		{"directory window", func(c *Config) { c.Directory.RemovalWindow.Duration = time.Second },
			[]string{"directory.removal_window: 1s must be between 1m and 30d"}},
		{"directory sync", func(c *Config) { c.Directory.SyncInterval.Duration = time.Second },
			[]string{"directory.sync_interval: 1s is too short; at least 10s"}},
		{"directory ldap", func(c *Config) {
			c.Directory.LDAP.URL, c.Directory.LDAP.PageSize = "http://x", 0
			c.Directory.LDAP.Attributes = LDAPAttributes{}
		}, []string{`directory.ldap.url: "http://x" is not an ldap:// or ldaps:// URL`,
			"directory.ldap.base_dn: is required when directory.ldap.url is set",
			"directory.ldap.page_size: 0 must be between 1 and 10000",
			"directory.ldap.attributes.username: set user_id or username so people can be matched to Matrix accounts",
			"directory.ldap.attributes.name: is required"}},
		{"directory ldap valid", func(c *Config) {
			c.Directory.LDAP.URL, c.Directory.LDAP.BaseDN = "ldaps://dir.nhs.uk", "dc=nhs"
		}, nil},

		{"review", func(c *Config) { c.Review.Interval.Duration, c.Review.CheckInterval.Duration = time.Minute, 0 },
			[]string{"review.interval: 1m0s is too short; at least 1h", "review.check_interval: 0s is too short; at least 1s"}},

		{"retention classes", func(c *Config) {
			c.Retention.Clinical.Min.Duration = 400 * day
			c.Retention.Social.Default.Duration = time.Hour
		}, []string{"retention.clinical.min: 400d is more than max (365d)",
			"retention.clinical.default: 30d is outside min–max (400d–365d)",
			"retention.social.default: 1h0m0s is outside min–max (12h0m0s–90d)"}},
		{"retention batch and media", func(c *Config) { c.Retention.Batch, c.Retention.MediaPath = -1, "media" },
			[]string{"retention.batch: must be positive (redactions per room per sweep)",
				`retention.media_path: "media" must be an absolute path (Dendrite's media_api.base_path)`}},
		{"records", func(c *Config) { c.Records.FHIRBaseURL = "epr" },
			[]string{`records.fhir_base_url: "epr" is not an http(s) URL`}},

		{"verification", func(c *Config) {
			c.Verification.Mode, c.Verification.Prompt, c.Verification.CheckInterval.Duration = "kick", "yes", 0
		}, []string{`verification.mode: "kick" is not suspend, warn or off`,
			`verification.prompt: "yes" is not enabled or disabled`,
			"verification.check_interval: 0s is too short; at least 1s"}},

		{"bridges", func(c *Config) { c.Bridges.Registrations = []string{"/nonexistent/reg.yaml"} },
			[]string{"bridges.registrations[0]: cannot read bridge registration /nonexistent/reg.yaml: open /nonexistent/reg.yaml: no such file or directory"}},

		{"logging", func(c *Config) { c.Logging.Level, c.Logging.Format = "loud", "xml" },
			[]string{`logging.level: "loud" is not one of trace, debug, info, warn, error`,
				`logging.format: "xml" is not json or pretty`}},

		{"audit", func(c *Config) { c.Audit.PublishInterval = &Duration{Duration: time.Millisecond} },
			[]string{"audit.publish_interval: is too short; at least 1s, or 0s to turn publication off"}},
		{"admin api", func(c *Config) { c.AdminAPI.Token = "short" },
			[]string{"admin_api.token: is too short; use at least 32 random characters"}},
		{"admin api listen", func(c *Config) { c.AdminAPI.Listen = "29331" },
			[]string{`admin_api.listen: "29331" is not host:port (e.g. 127.0.0.1:29331)`}},
		{"admin api plain http off loopback", func(c *Config) { c.AdminAPI.Listen, c.AdminAPI.SignIn.PlainHTTPLoopback = "0.0.0.0:29331", true },
			[]string{`admin_api.signin.plain_http_loopback: is only allowed when the admin paths are served on a loopback address (admin_api.listen or appservice.hostname is "0.0.0.0"); behind TLS, leave it off`}},
		{"admin api listen on the homeserver's port", func(c *Config) { c.AdminAPI.Listen = "127.0.0.1:29330" },
			[]string{`admin_api.listen: "127.0.0.1:29330" is the homeserver-facing listener's address (appservice.hostname and port); give the admin listener another port, or leave it empty to share that one`}},
		{"admin api trusted proxies", func(c *Config) {
			c.AdminAPI.TrustedProxies = []string{"10.0.0.0/24", "192.0.2.7", "2001:db8::/64", "proxy.trust", "10.0.0.0/33"}
		},
			[]string{`admin_api.trusted_proxies: "proxy.trust" is not a network (CIDR, e.g. 10.0.0.0/24, or an address)`,
				`admin_api.trusted_proxies: "10.0.0.0/33" is not a network (CIDR, e.g. 10.0.0.0/24, or an address)`}},
		{"admin api plain http on loopback", func(c *Config) { c.AdminAPI.Listen, c.AdminAPI.SignIn.PlainHTTPLoopback = "127.0.0.1:29331", true }, nil},
		{"admin api sign-in limits", func(c *Config) {
			c.AdminAPI.SignIn.CodeTTL.Duration, c.AdminAPI.SignIn.SessionIdle.Duration, c.AdminAPI.RateLimit.Burst = 2*time.Hour, 9*time.Hour, 0
		}, []string{
			"admin_api.signin.code_ttl: 2h0m0s is out of range; between 1m0s and 1h0m0s",
			"admin_api.signin.session_idle: must be at least 1m0s and no more than session_max (8h0m0s)",
			"admin_api.rate_limit: per_minute and burst must each be at least 1",
		}},
		{"ha lease short", func(c *Config) { c.HA.Lease.Duration = 500 * time.Millisecond },
			[]string{"ha.lease: 500ms is out of range: between 1s and 1m0s (5s is the default: a dead leader is replaced within about 7s)"}},
		{"ha lease long", func(c *Config) { c.HA.Lease.Duration = time.Hour },
			[]string{"ha.lease: 1h0m0s is out of range: between 1s and 1m0s (5s is the default: a dead leader is replaced within about 7s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(validConfig))
			if err != nil {
				t.Fatal(err)
			}
			tt.spoil(c)
			var got []string
			var ve *ValidationError
			if err := c.Validate(); errors.As(err, &ve) {
				for _, p := range ve.Problems {
					got = append(got, p.Key+": "+p.Msg)
				}
			} else if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestDefaults pins every default a config that sets nothing gets.
func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	l := c.Directory.LDAP
	tests := []struct {
		key       string
		got, want any
	}{
		{"appservice.hostname", c.AppService.Hostname, "127.0.0.1"},
		{"appservice.port", c.AppService.Port, 29330},
		{"appservice.id", c.AppService.ID, "caldicott"},
		{"appservice.bot_localpart", c.AppService.BotLocalpart, "caldicott"},
		{"appservice.bot_displayname", c.AppService.BotDisplayName, "Caldicott"},
		{"appservice.max_transaction_bytes", c.AppService.MaxTransactionBytes, int64(8 << 20)},
		{"appservice.encryption", c.AppService.Encryption, "enabled"},
		{"appservice.timeouts.read_header", c.AppService.Timeouts.ReadHeader.Duration, 10 * time.Second},
		{"database.type", c.Database.Type, "sqlite"},
		{"admin_api.signin.code_ttl", c.AdminAPI.SignIn.CodeTTL.Duration, 10 * time.Minute},
		{"admin_api.signin.session_idle", c.AdminAPI.SignIn.SessionIdle.Duration, 30 * time.Minute},
		{"admin_api.signin.session_max", c.AdminAPI.SignIn.SessionMax.Duration, 8 * time.Hour},
		{"admin_api.rate_limit.per_minute", c.AdminAPI.RateLimit.PerMinute, 60},
		{"database.uri", c.Database.URI, "caldicott.db"},
		{"database.max_open_conns", c.Database.MaxOpenConns, 10},
		{"federation.attestation_alias", c.Federation.AttestationAlias, "caldicott-attestations"},
		{"policy.clinical_history_visibility", c.Policy.ClinicalHistoryVisibility, "joined"},
		{"policy.reconcile_interval", c.Policy.ReconcileInterval.Duration, time.Hour},
		{"directory.sync_interval", c.Directory.SyncInterval.Duration, 5 * time.Minute},
		{"directory.max_removal_fraction", c.Directory.MaxRemovalFraction, 0.1},
		{"directory.hold_min_removals", c.Directory.HoldMinRemovals, 5},
		{"directory.removal_window", c.Directory.RemovalWindow.Duration, day},
		{"directory.ldap.filter", l.Filter, "(objectClass=inetOrgPerson)"},
		{"directory.ldap.page_size", l.PageSize, 500},
		{"directory.ldap.full_sync_interval", l.FullSyncInterval.Duration, day},
		{"directory.ldap.attributes", l.Attributes, LDAPAttributes{Username: "uid", Name: "cn", Role: "title", Team: "ou", Registration: "employeeNumber", Status: "employeeType"}},
		{"retention.clinical", c.Retention.Clinical, RetentionClass{Duration{Duration: 30 * day}, Duration{Duration: day}, Duration{Duration: 365 * day}}},
		{"retention.operational", c.Retention.Operational, RetentionClass{Duration{Duration: 90 * day}, Duration{Duration: day}, Duration{Duration: 730 * day}}},
		{"retention.social", c.Retention.Social, RetentionClass{Duration{Duration: 7 * day}, Duration{Duration: 12 * time.Hour}, Duration{Duration: 90 * day}}},
		{"retention.sweep_interval", c.Retention.SweepInterval.Duration, 15 * time.Minute},
		{"retention.batch", c.Retention.Batch, 500},
		{"retention.delete", c.Retention.Deleting(), true},
		{"records.remind_before", c.Records.RemindBefore.Duration, day},
		{"review.interval", c.Review.Interval.Duration, 90 * day},
		{"review.grace", c.Review.Grace.Duration, 7 * day},
		{"review.removal_after", c.Review.RemovalAfter.Duration, time.Duration(0)},
		{"review.inactive_after", c.Review.InactiveAfter.Duration, 30 * day},
		{"review.check_interval", c.Review.CheckInterval.Duration, 10 * time.Minute},
		{"verification.mode", c.Verification.Mode, "suspend"},
		{"verification.prompt", c.Verification.Prompt, "enabled"},
		{"verification.new_member_grace", c.Verification.NewMemberGrace.Duration, day},
		{"verification.new_device_grace", c.Verification.NewDeviceGrace.Duration, time.Hour},
		{"verification.check_interval", c.Verification.CheckInterval.Duration, 5 * time.Minute},
		{"logging.level", c.Logging.Level, "info"},
		{"logging.format", c.Logging.Format, "json"},
		{"audit.publish_interval", c.Audit.Every(), time.Hour},
		{"ha.lease", c.HA.Lease.Duration, 5 * time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
	// A postgres database gets no file path for a URI.
	pg, err := Parse([]byte(validConfig + "database: {type: postgres, uri: \"postgres://db\"}\n"))
	if err != nil || pg.Database.URI != "postgres://db" {
		t.Errorf("postgres: %v %+v", err, pg)
	}
}

// TestAdminListenSameHost: admin_api.listen is refused on the
// homeserver-facing listener's port whenever the two would clash —
// the same address in any spelling, or either a wildcard — and allowed on
// another address of that port.
func TestAdminListenSameHost(t *testing.T) {
	tests := []struct {
		listen, hostname string
		clash            bool
	}{
		{"127.0.0.1:29330", "127.0.0.1", true},
		{"0.0.0.0:29330", "127.0.0.1", true},
		{"[::]:29330", "127.0.0.1", true},
		{":29330", "127.0.0.1", true},
		{"127.0.0.1:29330", "0.0.0.0", true},
		{"127.0.0.1:29330", "::", true},
		{"10.0.0.5:29330", "::", true},
		{"[::]:29330", "0.0.0.0", true},
		{"[::ffff:127.0.0.1]:29330", "127.0.0.1", true},
		{"localhost:29330", "127.0.0.1", true},
		{"[::1]:29330", "localhost", true},
		{"[::1]:029330", "::1", true},
		{"127.0.0.1:29331", "127.0.0.1", false},
		{"[::]:29331", "0.0.0.0", false},
		{"10.0.0.5:29330", "127.0.0.1", false},
		{"[::1]:29330", "127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.listen+" beside "+tt.hostname, func(t *testing.T) {
			c, err := Parse([]byte(validConfig))
			if err != nil {
				t.Fatal(err)
			}
			c.AppService.Hostname, c.AppService.Port, c.AdminAPI.Listen = tt.hostname, 29330, tt.listen
			var ve *ValidationError
			clash := false
			if err := c.Validate(); errors.As(err, &ve) {
				for _, p := range ve.Problems {
					clash = clash || (p.Key == "admin_api.listen" && strings.Contains(p.Msg, "homeserver-facing"))
				}
			} else if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if clash != tt.clash {
				t.Errorf("refused as the homeserver-facing address: %v, want %v", clash, tt.clash)
			}
		})
	}
}
