package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults of the admin API's sign-in and limits.
const (
	DefaultSignInCodeTTL    = 10 * time.Minute
	DefaultSessionIdle      = 30 * time.Minute
	DefaultSessionMax       = 8 * time.Hour
	DefaultTokenCallsPerMin = 60
	DefaultTokenBurst       = 20
	DefaultSignInPerPerson  = 3
	DefaultSignInPerAddress = 20
	minSignInCodeTTL        = time.Minute
	maxSignInCodeTTL        = time.Hour
	minSessionIdle          = time.Minute
)

// AdminAPI is Caldicott's admin surface (/_caldicott/…): the JSON admin
// API behind named tokens (`caldicott admin token create`) and the IG
// admins' pages behind sign-in with Matrix.
type AdminAPI struct {
	// Token is the old shared bearer token (at least 32 characters). It
	// still works, for the export endpoint only, as the deprecated token
	// named "legacy" with the export scope; replace it with named tokens.
	Token string `yaml:"token"`
	// Listen is host:port of a listener of its own for /_caldicott/…;
	// when set, those paths are no longer served on the homeserver-facing
	// listener. Empty: served beside the homeserver's endpoints.
	Listen string `yaml:"listen"`
	// TrustedProxies are the networks (CIDRs, or single addresses) of the
	// TLS proxies in front of the admin paths. Only for a connection from
	// one of them is the client's address read from X-Forwarded-For (the
	// right-most address there that is not itself a trusted proxy); from
	// anywhere else the header is ignored, since anyone can write it.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RateLimit bounds each token's calls.
	RateLimit RateLimit `yaml:"rate_limit"`
	// SignIn configures sign-in with Matrix and the sessions it starts.
	SignIn SignIn `yaml:"signin"`
}

// RateLimit is a token bucket: PerMinute calls a minute on average, Burst at once.
type RateLimit struct {
	PerMinute int `yaml:"per_minute"`
	Burst     int `yaml:"burst"`
}

// SignIn configures sign-in with a one-time code the bot sends.
type SignIn struct {
	// CodeTTL is how long a code works (default 10m).
	CodeTTL Duration `yaml:"code_ttl"`
	// SessionIdle ends a session unused this long (default 30m).
	SessionIdle Duration `yaml:"session_idle"`
	// SessionMax ends any session this long after sign-in (default 8h).
	SessionMax Duration `yaml:"session_max"`
	// PerPersonPerHour is how many codes one person may be sent an hour.
	PerPersonPerHour int `yaml:"per_person_per_hour"`
	// PerAddressPerHour is how many sign-in requests (codes asked for and
	// tried) one client address may make an hour.
	PerAddressPerHour int `yaml:"per_address_per_hour"`
	// PlainHTTPLoopback drops the Secure flag from the cookies, for a demo
	// on plain HTTP; allowed only when the admin listener is on a
	// loopback address.
	PlainHTTPLoopback bool `yaml:"plain_http_loopback"`
}

func (a *AdminAPI) defaults() {
	setDefault(&a.RateLimit.PerMinute, DefaultTokenCallsPerMin)
	setDefault(&a.RateLimit.Burst, DefaultTokenBurst)
	setUnset(&a.SignIn.CodeTTL, DefaultSignInCodeTTL)
	setUnset(&a.SignIn.SessionIdle, DefaultSessionIdle)
	setUnset(&a.SignIn.SessionMax, DefaultSessionMax)
	setDefault(&a.SignIn.PerPersonPerHour, DefaultSignInPerPerson)
	setDefault(&a.SignIn.PerAddressPerHour, DefaultSignInPerAddress)
}

// validate checks the admin section; serviceHost and servicePort are the
// homeserver-facing listener's, where the admin paths are served without Listen.
func (a *AdminAPI) validate(p *problems, serviceHost string, servicePort int) {
	if t := a.Token; t != "" && len(t) < 32 {
		p.add("admin_api.token", "is too short; use at least 32 random characters")
	}
	host := serviceHost
	if a.Listen != "" {
		h, port, err := net.SplitHostPort(a.Listen)
		if err != nil || port == "" {
			p.add("admin_api.listen", "%q is not host:port (e.g. 127.0.0.1:29331)", a.Listen)
		} else if n, err := strconv.Atoi(port); err == nil && n == servicePort && sameHost(h, serviceHost) {
			p.add("admin_api.listen", "%q is the homeserver-facing listener's address (appservice.hostname and port); give the admin listener another port, or leave it empty to share that one", a.Listen)
		}
		host = h
	}
	for _, n := range a.TrustedProxies {
		if _, err := parseNetwork(n); err != nil {
			p.add("admin_api.trusted_proxies", "%q is not a network (CIDR, e.g. 10.0.0.0/24, or an address)", n)
		}
	}
	if a.RateLimit.PerMinute < 1 || a.RateLimit.Burst < 1 {
		p.add("admin_api.rate_limit", "per_minute and burst must each be at least 1")
	}
	s := a.SignIn
	if s.CodeTTL.Duration < minSignInCodeTTL || s.CodeTTL.Duration > maxSignInCodeTTL {
		p.add("admin_api.signin.code_ttl", "%s is out of range; between %s and %s", s.CodeTTL.Duration, minSignInCodeTTL, maxSignInCodeTTL)
	}
	if s.SessionIdle.Duration < minSessionIdle || s.SessionMax.Duration < s.SessionIdle.Duration {
		p.add("admin_api.signin.session_idle", "must be at least %s and no more than session_max (%s)", minSessionIdle, s.SessionMax.Duration)
	}
	if s.PerPersonPerHour < 1 || s.PerAddressPerHour < 1 {
		p.add("admin_api.signin", "per_person_per_hour and per_address_per_hour must each be at least 1")
	}
	if s.PlainHTTPLoopback && !isLoopback(host) {
		p.add("admin_api.signin.plain_http_loopback", "is only allowed when the admin paths are served on a loopback address (admin_api.listen or appservice.hostname is %q); behind TLS, leave it off", host)
	}
}

// TrustedProxyNetworks are TrustedProxies parsed (those that parse:
// validate reported the rest).
func (a AdminAPI) TrustedProxyNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range a.TrustedProxies {
		if p, err := parseNetwork(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parseNetwork reads a CIDR, or a single address as a network of one.
func parseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse network %q: %w", s, err)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// sameHost: listeners on h and other, on one port, would clash (or one
// would take the other's connections): the same address in any spelling
// (::ffff:127.0.0.1 is 127.0.0.1, localhost a loopback address), or
// either a wildcard (empty, 0.0.0.0, ::), which takes every address.
func sameHost(h, other string) bool {
	if isWildcard(h) || isWildcard(other) {
		return true
	}
	if strings.EqualFold(h, other) {
		return true
	}
	if isLoopback(h) && isLoopback(other) && (strings.EqualFold(h, "localhost") || strings.EqualFold(other, "localhost")) {
		return true
	}
	a, errA := netip.ParseAddr(h)
	b, errB := netip.ParseAddr(other)
	return errA == nil && errB == nil && a.Unmap() == b.Unmap()
}

// isWildcard: host listens on every address.
func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}

// isLoopback: host names this machine only.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
