package config

import (
	"fmt"
	"regexp"

	"maunium.net/go/mautrix/appservice"
)

// Bridges lists the trust's bridges to other messaging apps.
type Bridges struct {
	// Registrations are the bridges' appservice registration files; their
	// user namespaces are puppets, which never enter clinical rooms.
	Registrations []string `yaml:"registrations"`
}

// bridgeNamespaces reads the user namespaces of one bridge's registration.
func bridgeNamespaces(path string) ([]*regexp.Regexp, error) {
	reg, err := appservice.LoadRegistration(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read bridge registration %s: %w", path, err)
	}
	if len(reg.Namespaces.UserIDs) == 0 {
		return nil, fmt.Errorf("bridge registration %s has no user namespaces", path)
	}
	out := make([]*regexp.Regexp, 0, len(reg.Namespaces.UserIDs))
	for _, ns := range reg.Namespaces.UserIDs {
		re, err := regexp.Compile(ns.Regex)
		if err != nil {
			return nil, fmt.Errorf("bridge registration %s: bad user regex %q: %w", path, ns.Regex, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// BridgeNamespaces returns the puppet user-ID patterns of every configured
// bridge. Validate has already checked the files; they are read again here
// so a bridge re-registered since start-up is seen on restart.
func (c *Config) BridgeNamespaces() ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for i, path := range c.Bridges.Registrations {
		res, err := bridgeNamespaces(path)
		if err != nil {
			return nil, fmt.Errorf("bridges.registrations[%d]: %w", i, err)
		}
		out = append(out, res...)
	}
	return out, nil
}

func (b *Bridges) validate(p *problems) {
	for i, path := range b.Registrations {
		if _, err := bridgeNamespaces(path); err != nil {
			p.add(fmt.Sprintf("bridges.registrations[%d]", i), "%v", err)
		}
	}
}
