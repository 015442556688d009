package config

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"time"
)

// Gatekeeper configures `caldicott gatekeeper`, the reverse proxy in front
// of Dendrite that refuses what policy forbids before Dendrite accepts it.
type Gatekeeper struct {
	// InProcess runs the gatekeeper inside the appservice's process
	// (`caldicott -c config.yaml`) as well as on its own listener, instead of
	// as a separate `caldicott gatekeeper` process.
	InProcess bool `yaml:"in_process"`
	// Listen is the address the proxy listens on (host:port), where the
	// TLS front (nginx, Caddy) sends the client and federation APIs.
	Listen string `yaml:"listen"`
	// Upstream is Dendrite's plain-HTTP address; empty: homeserver.address.
	Upstream string `yaml:"upstream"`
	// TLSCert and TLSKey (PEM files, both or neither) make the listener
	// serve TLS itself, so the gatekeeper can stand on the federation port
	// (the server name's port) in front of Dendrite's plain-HTTP listener,
	// where no TLS front terminates federation. Empty: plain HTTP.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MetricsListen serves Prometheus metrics at /metrics, on an address of
	// its own so that metrics are never reachable through the public front.
	// Empty: off.
	MetricsListen string `yaml:"metrics_listen"`
	// MaxJudgedBodyBytes caps the body of a request the gatekeeper reads to
	// judge it (invites, createRoom, state, messages). Bodies it does not
	// judge (media uploads) stream through uncapped, to Dendrite's limits.
	MaxJudgedBodyBytes int64 `yaml:"max_judged_body_bytes"`
	// RoomStateTTL is how long a room's class, read from Dendrite, is
	// reused before it is read again.
	RoomStateTTL Duration `yaml:"room_state_ttl"`
	// RoomStateTimeout bounds one read of a room's class from Dendrite;
	// past it, a decision that needs the class fails closed.
	RoomStateTimeout Duration `yaml:"room_state_timeout"`
	// Endpoints switches judgements off one by one (name: false); every
	// judgement is on unless listed here. Names: GatekeeperEndpoints.
	Endpoints map[string]bool `yaml:"endpoints"`
	// Timeouts bound the proxy's client connections.
	Timeouts GatekeeperTimeouts `yaml:"timeouts"`
	// MaxListAge is how long the federation as the appservice last read
	// it (member trusts added at run time, other trusts' leavers) is
	// trusted. Past it, only this trust's server and federation.servers
	// count as members for federation requests and invitations.
	MaxListAge Duration `yaml:"max_list_age"`
	// OutboundListen is where the gatekeeper serves as Dendrite's forward
	// proxy for outbound federation (HTTP CONNECT; Dendrite's HTTPS_PROXY).
	// Empty: off, and Dendrite's outbound federation is not judged.
	OutboundListen string `yaml:"outbound_listen"`
	// Outbound is what the forward proxy lets Dendrite reach: "all" (the
	// default: every destination, counted) or "federation" (member trusts'
	// servers and OutboundAllow only; the rest refused, 403, audited).
	Outbound string `yaml:"outbound"`
	// OutboundAllow are further hosts Dendrite may reach with outbound
	// "federation": member trusts' delegated hosts (.well-known, SRV),
	// which Dendrite connects to instead of their server names.
	OutboundAllow []string `yaml:"outbound_allow"`
	// OutboundDenyNetworks are networks the forward proxy never connects
	// to (CIDRs), whatever Outbound says: Dendrite's own deny_networks
	// judge only the proxy's address once it goes through a proxy. Unset:
	// Dendrite's defaults (loopback and private ranges) with what they
	// miss (DefaultOutboundDenyNetworks).
	OutboundDenyNetworks []string `yaml:"outbound_deny_networks"`
}

// GatekeeperTimeouts bound client connections to the proxy. A proxy carries
// /sync long polls and media, so reads and writes get longer limits than
// the appservice's; headers and idle connections stay short.
type GatekeeperTimeouts struct {
	// ReadHeader is how long a client has to send a request's headers.
	ReadHeader Duration `yaml:"read_header"`
	// Read is how long a client has to send a whole request (media uploads).
	Read Duration `yaml:"read"`
	// Write bounds a response (media downloads, /sync long polls).
	Write Duration `yaml:"write"`
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle Duration `yaml:"idle"`
	// TunnelIdle closes an outbound tunnel nothing crossed for this long.
	TunnelIdle Duration `yaml:"tunnel_idle"`
	// TunnelMax closes any outbound tunnel after this long, so a trust
	// leaving the federation is reached no more once its tunnels end.
	TunnelMax Duration `yaml:"tunnel_max"`
}

// GatekeeperEndpoints names the judgements gatekeeper.endpoints can switch off.
var GatekeeperEndpoints = []string{
	"client_invite", "client_create_room", "client_state", "client_message",
	"client_join", "client_upgrade", "client_profile", "client_alias", "media_download",
	"federation_invite", "federation_join", "federation_knock", "identity_onbind",
}

// Gatekeeper defaults.
const (
	DefaultGatekeeperListen        = "127.0.0.1:8009"
	DefaultMaxJudgedBodyBytes      = 1 << 20
	DefaultGatekeeperRoomStateTTL  = 5 * time.Second
	DefaultGatekeeperStateTimeout  = 5 * time.Second
	DefaultGatekeeperReadHeader    = 10 * time.Second
	DefaultGatekeeperRead          = 5 * time.Minute
	DefaultGatekeeperWrite         = 10 * time.Minute
	DefaultGatekeeperIdle          = 2 * time.Minute
	DefaultGatekeeperTunnelIdle    = 5 * time.Minute // Dendrite keeps idle federation connections 5 minutes
	DefaultGatekeeperTunnelMax     = 10 * time.Minute
	maxGatekeeperJudgedBodyCeiling = 64 << 20
)

// The age limits of the federation as the appservice last read it.
const (
	// DefaultGatekeeperMaxListAge is TI-Messenger's limit on a federation list's age.
	DefaultGatekeeperMaxListAge = 72 * time.Hour
	// minGatekeeperMaxListAge leaves room for the appservice's reloads
	// (every 10 minutes) and a restart.
	minGatekeeperMaxListAge = 30 * time.Minute
)

// ApplyDefaults fills what the file leaves out; homeserver is
// homeserver.address, the default upstream.
func (g *Gatekeeper) ApplyDefaults(homeserver string) {
	setDefault(&g.Listen, DefaultGatekeeperListen)
	setDefault(&g.Upstream, homeserver)
	setDefault(&g.Outbound, OutboundAll)
	if g.OutboundDenyNetworks == nil {
		g.OutboundDenyNetworks = slices.Clone(DefaultOutboundDenyNetworks)
	}
	if g.MaxJudgedBodyBytes == 0 {
		g.MaxJudgedBodyBytes = DefaultMaxJudgedBodyBytes
	}
	for _, d := range []struct {
		field *Duration
		def   time.Duration
	}{
		{&g.RoomStateTTL, DefaultGatekeeperRoomStateTTL},
		{&g.RoomStateTimeout, DefaultGatekeeperStateTimeout},
		{&g.Timeouts.ReadHeader, DefaultGatekeeperReadHeader},
		{&g.Timeouts.Read, DefaultGatekeeperRead},
		{&g.Timeouts.Write, DefaultGatekeeperWrite},
		{&g.Timeouts.Idle, DefaultGatekeeperIdle},
		{&g.MaxListAge, DefaultGatekeeperMaxListAge},
		{&g.Timeouts.TunnelIdle, DefaultGatekeeperTunnelIdle},
		{&g.Timeouts.TunnelMax, DefaultGatekeeperTunnelMax},
	} {
		if !d.field.set {
			d.field.Duration = d.def
		}
	}
}

// Judges reports whether the named judgement is on.
func (g *Gatekeeper) Judges(endpoint string) bool {
	on, listed := g.Endpoints[endpoint]
	return !listed || on
}

// Problems reports what is wrong with the section, every problem at once.
func (g *Gatekeeper) Problems() []Problem {
	var p []Problem
	add := func(key, format string, args ...any) {
		p = append(p, Problem{Key: "gatekeeper." + key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, l := range []struct{ key, addr string }{{"listen", g.Listen}, {"metrics_listen", g.MetricsListen}} {
		if l.addr == "" && l.key == "metrics_listen" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			add(l.key, "%q is not host:port (e.g. 127.0.0.1:8009)", l.addr)
		}
	}
	p = append(p, g.tlsProblems()...)
	p = append(p, g.outboundProblems()...)
	if u, err := url.Parse(g.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("upstream", "%q is not an http(s) URL of Dendrite (e.g. http://127.0.0.1:8008)", g.Upstream)
	}
	if g.MaxJudgedBodyBytes < 64<<10 || g.MaxJudgedBodyBytes > maxGatekeeperJudgedBodyCeiling {
		add("max_judged_body_bytes", "%d is out of range: between 65536 (one Matrix event) and %d", g.MaxJudgedBodyBytes, maxGatekeeperJudgedBodyCeiling)
	}
	if g.RoomStateTTL.Duration > time.Minute {
		add("room_state_ttl", "%s is too long: a room made clinical would be judged as before for that long (at most 1m)", g.RoomStateTTL.Duration)
	}
	if g.RoomStateTimeout.Duration < 100*time.Millisecond {
		add("room_state_timeout", "%s is too short; at least 100ms", g.RoomStateTimeout.Duration)
	}
	if g.MaxListAge.Duration < minGatekeeperMaxListAge {
		add("max_list_age", "%s is too short; at least %s (the appservice reads the list every 10 minutes)", g.MaxListAge.Duration, minGatekeeperMaxListAge)
	}
	for _, name := range slices.Sorted(maps.Keys(g.Endpoints)) {
		if !slices.Contains(GatekeeperEndpoints, name) {
			add("endpoints", "%q is not a judgement the gatekeeper makes (one of %v)", name, GatekeeperEndpoints)
		}
	}
	t := g.Timeouts
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header", t.ReadHeader.Duration}, {"read", t.Read.Duration}, {"write", t.Write.Duration}, {"idle", t.Idle.Duration}} {
		if d.v < 100*time.Millisecond {
			add("timeouts."+d.key, "%s is too short; at least 100ms (it cannot be off: a slow client would hold connections open)", d.v)
		}
	}
	if t.ReadHeader.Duration > t.Read.Duration {
		add("timeouts.read_header", "%s is more than read (%s), which covers the headers too", t.ReadHeader.Duration, t.Read.Duration)
	}
	return p
}

// tlsProblems checks gatekeeper.tls_cert and tls_key: both or neither, and
// readable. Whether they make a key pair is tls.LoadX509KeyPair's to say
// when the gatekeeper starts.
func (g *Gatekeeper) tlsProblems() []Problem {
	if (g.TLSCert == "") != (g.TLSKey == "") {
		return []Problem{{Key: "gatekeeper.tls_cert", Msg: "tls_cert and tls_key go together: set both (the listener serves TLS) or neither (plain HTTP behind a TLS front)"}}
	}
	var p []Problem
	for _, f := range []struct{ key, path string }{{"tls_cert", g.TLSCert}, {"tls_key", g.TLSKey}} {
		if f.path == "" {
			continue
		}
		if _, err := os.ReadFile(f.path); err != nil {
			p = append(p, Problem{Key: "gatekeeper." + f.key, Msg: fmt.Sprintf("cannot be read: %v", err)})
		}
	}
	return p
}
