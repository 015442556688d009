package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const validConfig = `
homeserver: {address: "http://127.0.0.1:8008", domain: "trust-a.example.nhs.uk"}
appservice:
  address: "http://127.0.0.1:29330"
  as_token: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  hs_token: "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
trust: {name: "Trust A"}
`

func TestParseValidAppliesDefaults(t *testing.T) {
	cfg, err := Parse([]byte(validConfig))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.Database.Type != "sqlite" || cfg.Database.URI != "caldicott.db" {
		t.Errorf("database defaults = %+v", cfg.Database)
	}
	if cfg.AppService.Port != 29330 || cfg.AppService.BotLocalpart != "caldicott" {
		t.Errorf("appservice defaults = %+v", cfg.AppService)
	}
	if got := cfg.BotUserID(); got != "@caldicott:trust-a.example.nhs.uk" {
		t.Errorf("BotUserID = %q", got)
	}
	if cfg.Policy.ClinicalHistoryVisibility != "joined" {
		t.Errorf("history visibility default = %q", cfg.Policy.ClinicalHistoryVisibility)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", validConfig + "trust_name: x\n", `unknown key "trust_name" in section (top level)`},
		{"unknown nested key", strings.Replace(validConfig, "trust: {name: \"Trust A\"}", "trust: {name: \"Trust A\", managment_room: x}", 1), `unknown key "managment_room" in section trust`},
		{"bad url", strings.Replace(validConfig, `"http://127.0.0.1:8008"`, `"127.0.0.1:8008"`, 1), "homeserver.address: \"127.0.0.1:8008\" is not an http(s) URL"},
		{"missing token", strings.Replace(validConfig, `as_token: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, "", 1), "appservice.as_token: is missing"},
		{"placeholder token", strings.Replace(validConfig, `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, "generate", 1), `appservice.as_token: is still "generate"`},
		{"short token", strings.Replace(validConfig, `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, "short", 1), "appservice.as_token: is too short"},
		{"bad db type", validConfig + "database: {type: mysql}\n", `database.type: "mysql" is not supported`},
		{"postgres without uri", validConfig + "database: {type: postgres}\n", "database.uri: is required for postgres"},
		{"bad server", validConfig + "federation: {servers: [\"*.nhs.uk\"]}\n", `federation.servers[0]: "*.nhs.uk" is not a server name`},
		{"bad attestation room", validConfig + "federation: {attestation_rooms: [\"caldicott-attestations\"]}\n", `federation.attestation_rooms[0]: "caldicott-attestations" is not a room alias`},
		{"bad attestation alias", validConfig + "federation: {attestation_alias: \"#att:b\"}\n", `federation.attestation_alias: "#att:b" must be an alias localpart only`},
		{"bad bot key", validConfig + "federation: {bot_keys: {\"@caldicott:b.nhs.uk\": \"abcd\"}}\n", "federation.bot_keys: the key for @caldicott:b.nhs.uk is not an ed25519 master key"},
		{"bad bot user", validConfig + "federation: {bot_keys: {\"caldicott\": \"" + strings.Repeat("A", 43) + "\"}}\n", `federation.bot_keys: "caldicott" is not a Matrix user ID`},
		{"bad prompt", validConfig + "verification: {prompt: yes}\n", `verification.prompt: "yes" is not enabled or disabled`},
		{"bad duration", validConfig + "policy: {reconcile_interval: soon}\n", `"soon" is not a duration`},
		{"bad history", validConfig + "policy: {clinical_history_visibility: shared}\n", `policy.clinical_history_visibility: "shared" is not allowed`},
		{"bad management room", strings.Replace(validConfig, `trust: {name: "Trust A"}`, `trust: {name: "Trust A", management_room: "mgmt"}`, 1), `trust.management_room: "mgmt" must be a room alias`},
		{"bad admin id", strings.Replace(validConfig, `trust: {name: "Trust A"}`, `trust: {name: "Trust A", ig_admins: ["ig.lead"]}`, 1), `trust.ig_admins[0]: "ig.lead" is not a Matrix user ID`},
		{"not yaml", "homeserver: [", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEnvironmentOverridesSecrets(t *testing.T) {
	t.Setenv(EnvASToken, strings.Repeat("e", 40))
	t.Setenv(EnvDatabaseURI, "postgres://u:p@127.0.0.1/db")
	cfg, err := Parse([]byte(validConfig + "database: {type: postgres}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.AppService.ASToken != strings.Repeat("e", 40) || cfg.Database.URI != "postgres://u:p@127.0.0.1/db" {
		t.Errorf("environment not applied: %+v %+v", cfg.AppService, cfg.Database)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"90s", "1m30s", false}, {"7d", "168h0m0s", false}, {"0s", "0s", false},
		{"-5m", "", true}, {"xd", "", true}, {"soon", "", true},
		// Found by FuzzParseDuration: days beyond a duration's range
		// wrapped round, to a negative or a short period.
		{"106751d", "2562024h0m0s", false}, {"106752d", "", true}, {"213505d", "", true},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && d.String() != tt.want) {
			t.Errorf("ParseDuration(%q) = %v, %v", tt.in, d, err)
		}
	}
}

// The example config must stay loadable and must mention every key.
func TestExampleConfigIsCompleteAndValid(t *testing.T) {
	data, err := os.ReadFile("example-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvASToken, strings.Repeat("a", 40))
	t.Setenv(EnvHSToken, strings.Repeat("h", 40))
	if _, err := Parse(data); err != nil {
		t.Fatalf("example config does not load: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range yamlKeys(reflect.TypeOf(Config{}), "") {
		if !hasKey(raw, strings.Split(key, ".")) {
			t.Errorf("example-config.yaml lacks key %s", key)
		}
	}
}

func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration{}) {
			keys = append(keys, yamlKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

func hasKey(m map[string]any, path []string) bool {
	v, ok := m[path[0]]
	if !ok {
		return false
	}
	if len(path) == 1 {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && hasKey(sub, path[1:])
}

func TestGenerateRegistration(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	regPath := filepath.Join(dir, "registration.yaml")
	src := strings.NewReplacer(`"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"`, "generate", `"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"`, "generate # keep this comment").Replace(validConfig)
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := GenerateRegistration(cfgPath, regPath)
	if err != nil {
		t.Fatalf("GenerateRegistration: %v", err)
	}
	reloaded, err := Load(cfgPath)
	if err != nil {
		t.Fatalf("config after generation does not load: %v", err)
	}
	if reloaded.AppService.ASToken != cfg.AppService.ASToken || len(cfg.AppService.ASToken) != 64 {
		t.Errorf("as_token not saved: %q vs %q", reloaded.AppService.ASToken, cfg.AppService.ASToken)
	}
	saved, _ := os.ReadFile(cfgPath)
	if !strings.Contains(string(saved), "keep this comment") {
		t.Errorf("comments lost:\n%s", saved)
	}
	reg, err := os.ReadFile(regPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"as_token: " + cfg.AppService.ASToken, "hs_token: " + cfg.AppService.HSToken, "sender_localpart: caldicott", `regex: ^@caldicott:trust-a\.example\.nhs\.uk$`, "url: http://127.0.0.1:29330"} {
		if !strings.Contains(string(reg), want) {
			t.Errorf("registration lacks %q:\n%s", want, reg)
		}
	}
	// A second run rotates the tokens.
	cfg2, err := GenerateRegistration(cfgPath, regPath)
	if err != nil || cfg2.AppService.ASToken == cfg.AppService.ASToken {
		t.Errorf("second generation did not rotate tokens: %v", err)
	}
}

func TestBridgeRegistrations(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "whatsapp.yaml")
	if err := os.WriteFile(reg, []byte("id: whatsapp\nnamespaces:\n  users:\n    - regex: '^@whatsapp_.+:trust-a\\.example\\.nhs\\.uk$'\n      exclusive: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse([]byte(validConfig + "bridges: {registrations: [" + reg + "]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cfg.BridgeNamespaces()
	if err != nil || len(res) != 1 || !res[0].MatchString("@whatsapp_447700900123:trust-a.example.nhs.uk") {
		t.Fatalf("namespaces = %v, %v", res, err)
	}
	_, err = Parse([]byte(validConfig + "bridges: {registrations: [" + filepath.Join(dir, "missing.yaml") + "]}\n"))
	if err == nil || !strings.Contains(err.Error(), "bridges.registrations[0]: cannot read bridge registration") {
		t.Fatalf("missing registration: %v", err)
	}
	_, err = Parse([]byte(validConfig + "directory: {max_removal_fraction: 2}\n"))
	if err == nil || !strings.Contains(err.Error(), "directory.max_removal_fraction") {
		t.Fatalf("bad fraction: %v", err)
	}
}

func TestAttestationSources(t *testing.T) {
	f := Federation{Servers: []string{"b.nhs.uk", "c.nhs.uk"}, AttestationAlias: "att"}
	if got := strings.Join(f.AttestationSources(), " "); got != "#att:b.nhs.uk #att:c.nhs.uk" {
		t.Errorf("derived sources %q", got)
	}
	f.AttestationRooms = []string{"#att:b.nhs.uk:8448"}
	if got := strings.Join(f.AttestationSources(), " "); got != "#att:b.nhs.uk:8448" {
		t.Errorf("listed sources %q", got)
	}
}

func TestAuditAndAdminAPI(t *testing.T) {
	cfg, err := Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit.Every() != DefaultAuditPublishInterval || cfg.AdminAPI.Token != "" {
		t.Errorf("defaults: every %s, token %q", cfg.Audit.Every(), cfg.AdminAPI.Token)
	}
	cfg, err = Parse([]byte(validConfig + "audit: {publish_interval: 0s}\n"))
	if err != nil || cfg.Audit.Every() != 0 {
		t.Errorf("0s must turn publication off: %v %v", cfg, err)
	}
	if _, err := Parse([]byte(validConfig + "admin_api: {token: short}\n")); err == nil || !strings.Contains(err.Error(), "admin_api.token: is too short") {
		t.Errorf("short admin token: %v", err)
	}
	if _, err := Parse([]byte(validConfig + "audit: {publish_interval: 10ms}\n")); err == nil || !strings.Contains(err.Error(), "audit.publish_interval") {
		t.Errorf("tiny interval: %v", err)
	}
	witness := func(w string) string { return validConfig + "audit: {witnesses: [" + w + "]}\n" }
	key := strings.Repeat("A", 43)
	if cfg, err := Parse([]byte(witness(`{homeserver: "https://matrix.b.nhs.uk", access_token: "t", bot_key: "` + key + `"}`))); err != nil || len(cfg.Audit.Witnesses) != 1 || cfg.Audit.Witnesses[0].BotKey != key {
		t.Errorf("a witness: %v", err)
	}
	for w, want := range map[string]string{
		`{homeserver: "matrix.b.nhs.uk", access_token: "t"}`:                          "audit.witnesses[0].homeserver: \"matrix.b.nhs.uk\" is not a homeserver URL",
		`{homeserver: "https://matrix.b.nhs.uk"}`:                                     "audit.witnesses[0].access_token: is empty",
		`{homeserver: "https://matrix.b.nhs.uk", access_token: "t", bot_key: "abcd"}`: "audit.witnesses[0].bot_key: is not an ed25519 master key",
	} {
		if _, err := Parse([]byte(witness(w))); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("witness %s: %v, want %q", w, err, want)
		}
	}
	t.Setenv(EnvAdminAPIToken, strings.Repeat("k", 40))
	if cfg, err := Parse([]byte(validConfig)); err != nil || cfg.AdminAPI.Token != strings.Repeat("k", 40) {
		t.Errorf("token from the environment: %v", err)
	}
}

// An interval written as 0s turns its job off; one left out gets the default.
func TestZeroIntervalMeansOff(t *testing.T) {
	base := "homeserver: {address: \"http://127.0.0.1:8008\", domain: \"example.org\"}\nappservice: {address: \"http://127.0.0.1:9000\", port: 9000, as_token: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", hs_token: \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}\ndatabase: {type: sqlite, uri: \"x.db\"}\ntrust: {name: T}\n"
	off, err := Parse([]byte(base + "policy: {reconcile_interval: 0s}\nretention: {sweep_interval: 0s}\nrecords: {remind_before: 0s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if off.Policy.ReconcileInterval.Duration != 0 || off.Retention.SweepInterval.Duration != 0 || off.Records.RemindBefore.Duration != 0 {
		t.Fatalf("0s became %v / %v / %v", off.Policy.ReconcileInterval, off.Retention.SweepInterval, off.Records.RemindBefore)
	}
	def, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if def.Policy.ReconcileInterval.Duration != time.Hour || def.Retention.SweepInterval.Duration != 15*time.Minute || def.Records.RemindBefore.Duration != 24*time.Hour {
		t.Fatalf("defaults: %v / %v / %v", def.Policy.ReconcileInterval, def.Retention.SweepInterval, def.Records.RemindBefore)
	}
}
