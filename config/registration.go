package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix/appservice"
)

// Registration builds the appservice registration Dendrite reads. The bot's
// user ID is the only namespace: Caldicott acts as one user and never puppets.
func (c *Config) Registration() *appservice.Registration {
	rateLimited := false
	return &appservice.Registration{
		ID:              c.AppService.ID,
		URL:             c.AppService.Address,
		AppToken:        c.AppService.ASToken,
		ServerToken:     c.AppService.HSToken,
		SenderLocalpart: c.AppService.BotLocalpart,
		RateLimited:     &rateLimited,
		Namespaces: appservice.Namespaces{
			UserIDs: appservice.NamespaceList{{
				Regex:     "^" + regexp.QuoteMeta(c.BotUserID()) + "$",
				Exclusive: true,
			}},
		},
	}
}

// GenerateRegistration gives the config at cfgPath fresh random tokens, saves
// them into that file (keeping its comments) and writes the matching
// registration to outPath. Tokens set through the environment are left to the
// environment: the operator is told to change them there.
func GenerateRegistration(cfgPath, outPath string) (*Config, error) {
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", cfgPath, err)
	}
	as, hs := randomToken(), randomToken()
	if err := setYAMLString(&doc, as, "appservice", "as_token"); err != nil {
		return nil, err
	}
	if err := setYAMLString(&doc, hs, "appservice", "hs_token"); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if os.Getenv(EnvASToken) != "" || os.Getenv(EnvHSToken) != "" {
		return nil, fmt.Errorf("%s or %s is set in the environment and would override the new tokens; unset them first", EnvASToken, EnvHSToken)
	}
	cfg, err := Parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	if err := cfg.Registration().Save(outPath); err != nil {
		return nil, fmt.Errorf("write registration: %w", err)
	}
	if err := writeFileAtomic(cfgPath, buf.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("save new tokens in config: %w", err)
	}
	return cfg, nil
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(fmt.Errorf("crypto/rand failed: %w", err))
	}
	return hex.EncodeToString(b)
}

// setYAMLString sets doc[path...] to value, creating mappings as needed.
func setYAMLString(doc *yaml.Node, value string, path ...string) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		*doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	node := doc.Content[0]
	for i, key := range path {
		if node.Kind != yaml.MappingNode {
			return errors.New("config: expected a mapping at " + key)
		}
		var next *yaml.Node
		for j := 0; j+1 < len(node.Content); j += 2 {
			if node.Content[j].Value == key {
				next = node.Content[j+1]
				break
			}
		}
		if next == nil {
			kind := yaml.MappingNode
			if i == len(path)-1 {
				kind = yaml.ScalarNode
			}
			next = &yaml.Node{Kind: kind}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, next)
		}
		node = next
	}
	node.Kind, node.Tag, node.Value, node.Style = yaml.ScalarNode, "!!str", value, yaml.DoubleQuotedStyle
	return nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
