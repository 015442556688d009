package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// SCIM is the SCIM 2.0 provisioning endpoint (/scim/v2/Users).
type SCIM struct {
	// Token is the bearer token the identity provider presents.
	Token string `yaml:"token"`
	// UPNDomains are the e-mail-style userName domains (jane@trust.nhs.uk)
	// that belong to this trust: their local part becomes the Matrix
	// localpart on this trust's server. The server name's own host is always
	// accepted; a userName on any other domain is refused.
	UPNDomains []string `yaml:"upn_domains"`
	// ExpectEvery, when set, is the longest the identity provider may stay
	// silent (no SCIM request at all) before the management room is told;
	// zero never tells. Silence never removes anyone.
	ExpectEvery Duration `yaml:"expect_every"`
}

// MinSCIMExpectEvery bounds directory.scim.expect_every from below: a
// shorter silence is no sign of anything.
const MinSCIMExpectEvery = 10 * time.Second

// check reports what is wrong with the SCIM section.
func (s *SCIM) check(add func(key, format string, args ...any)) {
	if t := s.Token; t != "" && len(t) < 32 {
		add("directory.scim.token", "is too short (%d characters); use at least 32 random characters", len(t))
	}
	if e := s.ExpectEvery.Duration; e != 0 && (e < MinSCIMExpectEvery || s.Token == "") {
		add("directory.scim.expect_every", "%s must be 0 (off) or at least %s, with directory.scim.token set", e, MinSCIMExpectEvery)
	}
	seen := map[string]bool{}
	for i, d := range s.UPNDomains {
		key := fmt.Sprintf("directory.scim.upn_domains[%d]", i)
		norm := strings.ToLower(strings.TrimSpace(d))
		// A UPN domain is a DNS name: no port, no @, no wildcard.
		host, port, ok := spec.ParseAndValidateServerName(spec.ServerName(norm))
		switch {
		case !ok || port != -1 || host == "" || strings.ContainsAny(norm, "@*"):
			add(key, "%q is not a domain name (write e.g. trust-a.nhs.uk, without @ or port)", d)
		case seen[norm]:
			add(key, "%q is listed twice", d)
		}
		seen[norm] = true
	}
}
