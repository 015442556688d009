package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Environment variables that override secrets, so they need not sit in the file.
const (
	EnvASToken      = "CALDICOTT_AS_TOKEN"
	EnvHSToken      = "CALDICOTT_HS_TOKEN"
	EnvDatabaseURI  = "CALDICOTT_DATABASE_URI"
	EnvLDAPPassword = "CALDICOTT_LDAP_PASSWORD"
	EnvAdminToken   = "CALDICOTT_ADMIN_TOKEN"
	EnvSCIMToken    = "CALDICOTT_SCIM_TOKEN"
	EnvFHIRToken    = "CALDICOTT_FHIR_TOKEN"
)

// Load reads, defaults and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes YAML strictly, applies the environment and defaults, then validates.
func Parse(data []byte) (*Config, error) {
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, explainYAMLError(err)
	}
	cfg.applyEnv()
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) applyEnv() {
	if v := os.Getenv(EnvASToken); v != "" {
		c.AppService.ASToken = v
	}
	if v := os.Getenv(EnvHSToken); v != "" {
		c.AppService.HSToken = v
	}
	if v := os.Getenv(EnvDatabaseURI); v != "" {
		c.Database.URI = v
	}
	if v := os.Getenv(EnvSCIMToken); v != "" {
		c.Directory.SCIM.Token = v
	}
	if v := os.Getenv(EnvAdminToken); v != "" {
		c.Homeserver.AdminToken = v
	}
	if v := os.Getenv(EnvLDAPPassword); v != "" {
		c.Directory.LDAP.BindPassword = v
	}
	if v := os.Getenv(EnvFHIRToken); v != "" {
		c.Records.Token = v
	}
	c.applyAuditEnv(os.Getenv)
}

var unknownFieldRE = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)

// explainYAMLError turns yaml.v3's Go-flavoured messages into ones an operator reads.
func explainYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("not valid YAML: %w", err)
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(e); m != nil {
			msgs = append(msgs, fmt.Sprintf("line %s: unknown key %q in section %s (check the spelling against config/example-config.yaml)", m[1], m[2], sectionName(m[3])))
			continue
		}
		msgs = append(msgs, strings.ReplaceAll(e, "config.", ""))
	}
	return errors.New(strings.Join(msgs, "; "))
}

func sectionName(goType string) string {
	switch goType {
	case "Config":
		return "(top level)"
	case "AppService":
		return "appservice"
	default:
		return strings.ToLower(goType)
	}
}
