package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// RulesFingerprint is a SHA-256 (hex) over a canonical encoding of the
// config sections that decide what Caldicott does to rooms and people:
// trust, federation, policy, directory, review, verification, retention,
// records, bridges, audit and ha. Left out: homeserver, appservice,
// database, admin_api, logging and gatekeeper, which say where this
// process listens and how it reaches its neighbours (one host's may
// rightly differ from another's), and in every section the secrets
// (tokens, passwords) and per-process fields (listen addresses, TLS
// files), by key name (leftOut). Canonical: the sections as YAML, read
// back into maps and written as JSON, whose keys are sorted.
func (cfg *Config) RulesFingerprint() (string, error) {
	sections := map[string]any{
		"trust": cfg.Trust, "federation": cfg.Federation, "policy": cfg.Policy,
		"directory": cfg.Directory, "review": cfg.Review, "verification": cfg.Verification,
		"retention": cfg.Retention, "records": cfg.Records, "bridges": cfg.Bridges,
		"audit": cfg.Audit, "ha": cfg.HA,
	}
	raw, err := yaml.Marshal(sections)
	if err != nil {
		return "", fmt.Errorf("encode the config for its fingerprint: %w", err)
	}
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return "", fmt.Errorf("decode the config for its fingerprint: %w", err)
	}
	canon, err := json.Marshal(withoutLeftOut(tree))
	if err != nil {
		return "", fmt.Errorf("encode the config's fingerprint: %w", err)
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

// leftOut reports whether a config key is a secret or says something of
// this process only, and so stays out of the fingerprint.
func leftOut(key string) bool {
	for _, suffix := range []string{"token", "password", "listen", "tls_cert", "tls_key"} {
		if strings.HasSuffix(key, suffix) {
			return true
		}
	}
	return false
}

// withoutLeftOut copies a decoded YAML tree without the keys leftOut names.
func withoutLeftOut(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if !leftOut(k) {
				out[k] = withoutLeftOut(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withoutLeftOut(x)
		}
		return out
	}
	return v
}
