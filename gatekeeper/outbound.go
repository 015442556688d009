package gatekeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// EndpointOutbound names the forward proxy's judgement of where Dendrite
// connects (metrics, logs and the audit log).
const EndpointOutbound = "outbound"

// Reasons an outbound tunnel is refused.
const (
	ReasonOutsideDestination = "destination_outside_federation"
	ReasonDeniedNetwork      = "destination_network_denied"
)

// Outcomes of an outbound tunnel (caldicott_gatekeeper_outbound_tunnels_total).
const (
	OutcomePassed      = "passed"
	OutcomeRefused     = "refused"
	OutcomeUnreachable = "unreachable"
)

// outboundDialTimeout bounds connecting to a destination: Dendrite's own
// federation dialer gives up after 5 s.
const outboundDialTimeout = 10 * time.Second

// maxDestinationLabels bounds the destinations counted by name; the rest
// are counted as "other", so a Dendrite talking to the whole Matrix
// network cannot grow the metrics without end.
const maxDestinationLabels = 1000

// errDeniedNetwork: the destination resolved into outbound_deny_networks.
var errDeniedNetwork = errors.New("destination in a denied network")

// OutboundHandler is the forward proxy Dendrite's outbound federation
// goes through (HTTPS_PROXY): it judges each CONNECT by its destination
// (host:port) alone — the tunnel carries TLS end to end, so nothing
// inside is read — and passes the bytes of those it lets through. Tunnels
// end when ctx does.
func (g *Gatekeeper) OutboundHandler(ctx context.Context) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			// Dendrite's federation is HTTPS only: through a proxy, CONNECT.
			w.Header().Set("Allow", http.MethodConnect)
			(&Refusal{Status: http.StatusMethodNotAllowed, ErrCode: "M_UNRECOGNIZED", Reason: "This proxy only tunnels (CONNECT) to other Matrix servers."}).write(w)
			return
		}
		dest := r.Host
		if _, _, err := net.SplitHostPort(dest); err != nil {
			(&Refusal{Status: http.StatusBadRequest, ErrCode: "M_UNRECOGNIZED", Reason: "CONNECT needs host:port."}).write(w)
			return
		}
		if f := g.judgeDestination(r.Context(), dest); f != nil {
			g.refuseOutbound(w, r, dest, f)
			return
		}
		upstream, err := g.dialDestination(r.Context(), dest)
		switch {
		case errors.Is(err, errDeniedNetwork):
			g.refuseOutbound(w, r, dest, forbidden(ReasonDeniedNetwork, fmt.Sprintf("%s is in a network this server never connects to.", dest)))
			return
		case err != nil:
			g.countOutbound(dest, OutcomeUnreachable)
			g.log.Info().Err(err).Str("destination", dest).Msg("Outbound destination unreachable")
			(&Refusal{Status: http.StatusBadGateway, ErrCode: "M_UNKNOWN", Reason: "The destination server did not answer."}).write(w)
			return
		}
		g.countOutbound(dest, OutcomePassed)
		g.tunnel(ctx, w, upstream)
	})
}

// judgeDestination refuses a destination outside the federation when
// gatekeeper.outbound is "federation", by the same federation view the
// inbound judgements use; nil passes it.
func (g *Gatekeeper) judgeDestination(ctx context.Context, dest string) *Refusal {
	if g.s.Outbound != config.OutboundFederation {
		return nil
	}
	if policy.InFederation(dest, append([]string{g.s.Rules.OwnServer}, g.s.OutboundAllow...)) {
		return nil
	}
	s := g.fed.current(ctx)
	if policy.InFederation(dest, g.fed.members(s)) {
		return nil
	}
	if g.fed.onlyInStaleView(s, dest) {
		return forbidden(ReasonListStale, fmt.Sprintf("%s is a member only by a federation list too old to trust; this server reaches it again when the list is read.", dest))
	}
	return forbidden(ReasonOutsideDestination, fmt.Sprintf("%s is not a member of this federation of NHS trusts: this server does not federate with it.", dest))
}

// refuseOutbound answers a refused CONNECT, counts it, logs it and audits
// it: the destination only — nothing of what would have crossed is known.
func (g *Gatekeeper) refuseOutbound(w http.ResponseWriter, r *http.Request, dest string, f *Refusal) {
	g.metrics.Refusals.WithLabelValues(EndpointOutbound, f.Rule).Inc()
	g.countOutbound(dest, OutcomeRefused)
	g.log.Info().Str("endpoint", EndpointOutbound).Str("rule", f.Rule).Str("destination", dest).Msg("Refused an outbound connection")
	if g.s.Records != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
		defer cancel()
		detail, _ := json.Marshal(map[string]any{"endpoint": EndpointOutbound, "destination": dest, "status": f.Status, "method": r.Method})
		_, err := g.s.Records.AppendAudit(ctx, store.AuditEntry{Actor: g.s.Rules.OwnServer, Action: ActionRefused, Reason: f.Rule, Detail: string(detail)})
		if err != nil {
			g.metrics.AuditFailures.Inc()
		}
		g.fed.noteStore(ctx, err)
	}
	f.write(w)
}

// dialDestination connects to dest (or where Settings.OutboundAddr says
// it is), never into outbound_deny_networks.
func (g *Gatekeeper) dialDestination(ctx context.Context, dest string) (net.Conn, error) {
	addr := dest
	if g.s.OutboundAddr != nil {
		addr = g.s.OutboundAddr(dest)
	}
	d := net.Dialer{Timeout: outboundDialTimeout, ControlContext: denyNetworks(g.s.OutboundDeny)}
	return d.DialContext(ctx, "tcp", addr)
}

// denyNetworks refuses a connection whose resolved address is in one of
// the networks, as Dendrite's own dialer does with deny_networks.
func denyNetworks(deny []netip.Prefix) func(context.Context, string, string, syscall.RawConn) error {
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%s: %w", address, errDeniedNetwork)
		}
		// A zoned address (fe80::1%eth0) is in no prefix to Contains: its
		// zone goes before judging.
		addr := ap.Addr().Unmap().WithZone("")
		for _, p := range deny {
			if p.Contains(addr) {
				return fmt.Errorf("%s: %w", address, errDeniedNetwork)
			}
		}
		return nil
	}
}

// destinations caps the destinations counted by name.
type destinations struct {
	mu    sync.Mutex
	named map[string]bool
}

func (d *destinations) label(dest string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.named[dest] {
		return dest
	}
	if len(d.named) >= maxDestinationLabels {
		return "other"
	}
	d.named[dest] = true
	return dest
}

func (g *Gatekeeper) countOutbound(dest, outcome string) {
	g.metrics.Outbound.WithLabelValues(g.outDests.label(dest), outcome).Inc()
}
