package gatekeeper

import (
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Settings are what the gatekeeper needs to run: where it listens, where
// Dendrite is, how to read room state there, and the rules' inputs.
type Settings struct {
	// Listen and MetricsListen are the proxy's and the metrics' addresses
	// (MetricsListen empty: no metrics listener).
	Listen, MetricsListen string
	// Timeouts bound client connections.
	Timeouts Timeouts
	// Upstream is Dendrite's plain-HTTP base URL.
	Upstream *url.URL
	// TLSCert and TLSKey, when set, make Listen serve TLS (ListenTLS).
	TLSCert, TLSKey string
	// Rules are the gate's inputs: the bot, this trust's server, the
	// federation's servers and the bridges' puppet namespaces.
	Rules policy.GateRules
	// IGAdmins are the trust's IG admins (trust.ig_admins): filters they
	// set in the trust's rooms reach everyone.
	IGAdmins []string
	// ASToken is the appservice's token: room state is read as the bot.
	ASToken string
	// MaxJudgedBody caps a body read to be judged.
	MaxJudgedBody int64
	// RoomStateTTL is how long a room's class is reused.
	RoomStateTTL time.Duration
	// RoomStateTimeout bounds one read of a room's class.
	RoomStateTimeout time.Duration
	// Directory is the trust's staff directory (the store, read only);
	// nil: invitees of this trust are left to the appservice.
	Directory Directory
	// Media says which files retention deleted (the store, read only);
	// nil: downloads are not judged.
	Media MediaIndex
	// Records is where the federation view is read and refusals and the
	// gatekeeper's standing are recorded (the store); nil: the federation
	// is federation.servers, and nothing is recorded.
	Records Records
	// ListConfigured: the trust takes part in a federation policy list,
	// so the appservice writes a view of it.
	ListConfigured bool
	// MaxListAge is how long that view is trusted.
	MaxListAge time.Duration
	// OutboundListen is the forward proxy's address (empty: none);
	// Outbound what it lets through (config.OutboundAll, OutboundFederation),
	// OutboundAllow further hosts it lets through, OutboundDeny networks it
	// never connects to.
	OutboundListen string
	Outbound       string
	OutboundAllow  []string
	OutboundDeny   []netip.Prefix
	// OutboundAddr says where to connect for a destination (host:port);
	// nil: the destination itself, resolved by DNS. Tests name their
	// servers and say where they are.
	OutboundAddr func(destination string) string
	// Judges says whether a judgement (config.GatekeeperEndpoints) is on;
	// nil: all are.
	Judges func(endpoint string) bool
}

// SettingsFrom reads the settings from the config, applying the
// gatekeeper section's defaults and checking it.
func SettingsFrom(cfg *config.Config) (Settings, error) {
	g := cfg.Gatekeeper
	g.ApplyDefaults(cfg.Homeserver.Address)
	if p := g.Problems(); len(p) > 0 {
		return Settings{}, &config.ValidationError{Problems: p}
	}
	upstream, err := url.Parse(g.Upstream)
	if err != nil {
		return Settings{}, fmt.Errorf("gatekeeper.upstream: %w", err)
	}
	bridges, err := cfg.BridgeNamespaces()
	if err != nil {
		return Settings{}, err
	}
	deny, err := prefixes(g.OutboundDenyNetworks)
	if err != nil {
		return Settings{}, err
	}
	t := g.Timeouts
	return Settings{
		Listen: g.Listen, MetricsListen: g.MetricsListen,
		Timeouts: Timeouts{
			ReadHeader: t.ReadHeader.Duration, Read: t.Read.Duration, Write: t.Write.Duration, Idle: t.Idle.Duration,
			TunnelIdle: t.TunnelIdle.Duration, TunnelMax: t.TunnelMax.Duration,
		},
		OutboundListen: g.OutboundListen, Outbound: g.Outbound, OutboundAllow: g.OutboundAllow, OutboundDeny: deny,
		Upstream: upstream,
		TLSCert:  g.TLSCert, TLSKey: g.TLSKey,
		Rules: policy.GateRules{
			Requirements: policy.Requirements{
				BotUserID:         cfg.BotUserID(),
				OwnServer:         cfg.Homeserver.Domain,
				FederationServers: cfg.Federation.Servers,
				HistoryVisibility: cfg.Policy.ClinicalHistoryVisibility,
			},
			TrustName:        cfg.Trust.Name,
			BridgeNamespaces: bridges,
		},
		IGAdmins:         cfg.Trust.IGAdmins,
		ASToken:          cfg.AppService.ASToken,
		MaxJudgedBody:    g.MaxJudgedBodyBytes,
		RoomStateTTL:     g.RoomStateTTL.Duration,
		RoomStateTimeout: g.RoomStateTimeout.Duration,
		Judges:           g.Judges,
		ListConfigured:   cfg.Federation.PolicyList != "",
		MaxListAge:       g.MaxListAge.Duration,
	}, nil
}

// prefixes parses gatekeeper.outbound_deny_networks.
func prefixes(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("gatekeeper.outbound_deny_networks: %w", err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (s Settings) judges(endpoint string) bool { return s.Judges == nil || s.Judges(endpoint) }

// UseStore reads everything the gatekeeper keeps from Caldicott's one
// database: the staff directory and holds, the files retention deleted,
// the federation view, and where its refusals are audited. The subcommand
// and the test harness build it the same way.
func (s *Settings) UseStore(st *store.Store) {
	s.Directory, s.Media, s.Records = st, st, st
}
