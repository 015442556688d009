package config

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// What the gatekeeper's forward proxy lets Dendrite reach (gatekeeper.outbound).
const (
	// OutboundAll passes every destination, counted per destination.
	OutboundAll = "all"
	// OutboundFederation passes member trusts' servers (and
	// gatekeeper.outbound_allow) only.
	OutboundFederation = "federation"
)

// DefaultOutboundDenyNetworks are Dendrite's default deny_networks, with
// what that list misses ("this network" 0.0.0.0/8 and the unspecified ::,
// which reach this host; all of fe80::/10, not only its first /64): the
// proxy never connects there.
var DefaultOutboundDenyNetworks = []string{
	"127.0.0.1/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"100.64.0.0/10", "169.254.0.0/16", "0.0.0.0/8", "::1/128", "::/128", "fe80::/10", "fc00::/7",
}

// outboundProblems checks the forward proxy's settings.
func (g *Gatekeeper) outboundProblems() []Problem {
	var p []Problem
	add := func(key, format string, args ...any) {
		p = append(p, Problem{Key: "gatekeeper." + key, Msg: fmt.Sprintf(format, args...)})
	}
	if g.OutboundListen != "" {
		host, _, err := net.SplitHostPort(g.OutboundListen)
		switch {
		case err != nil:
			add("outbound_listen", "%q is not host:port (e.g. 127.0.0.1:8010)", g.OutboundListen)
		case !loopbackHost(host):
			// The proxy asks for no credentials: on any other address,
			// whoever reaches it could tunnel through this trust's
			// network to the destinations it lets through.
			add("outbound_listen", "%q is not a loopback address (127.0.0.1, ::1 or localhost): the forward proxy asks for no credentials, so only this host may reach it", g.OutboundListen)
		}
	}
	if g.Outbound != OutboundAll && g.Outbound != OutboundFederation {
		add("outbound", "%q is neither %q (pass every destination) nor %q (member trusts only)", g.Outbound, OutboundAll, OutboundFederation)
	}
	for _, h := range g.OutboundAllow {
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(h)); !ok {
			add("outbound_allow", "%q is not a host or host:port", h)
		}
	}
	for _, n := range g.OutboundDenyNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			add("outbound_deny_networks", "%q is not a network (CIDR, e.g. 10.0.0.0/8)", n)
		}
	}
	t := g.Timeouts
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"tunnel_idle", t.TunnelIdle.Duration}, {"tunnel_max", t.TunnelMax.Duration}} {
		if d.v < time.Second {
			add("timeouts."+d.key, "%s is too short; at least 1s (it cannot be off: tunnels would stay open for ever)", d.v)
		}
	}
	if t.TunnelIdle.Duration > t.TunnelMax.Duration {
		add("timeouts.tunnel_idle", "%s is more than tunnel_max (%s)", t.TunnelIdle.Duration, t.TunnelMax.Duration)
	}
	return p
}

// loopbackHost: host is a loopback IP address or localhost.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
