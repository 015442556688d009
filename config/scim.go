package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// MaxRemovalWindow bounds directory.scim.removal_window; the store keeps
// removals this long, so the window never looks further back than that.
const MaxRemovalWindow = 30 * 24 * time.Hour

// check reports what is wrong with the SCIM section.
func (s *SCIM) check(add func(key, format string, args ...any)) {
	if t := s.Token; t != "" && len(t) < 32 {
		add("directory.scim.token", "is too short (%d characters); use at least 32 random characters", len(t))
	}
	if w := s.RemovalWindow.Duration; w < time.Minute || w > MaxRemovalWindow {
		add("directory.scim.removal_window", "%s must be between 1m and 30d", w)
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
