package adminauth

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// clientAddress is the address the request came from: the connection's,
// or, when that is one of admin_api.trusted_proxies, the right-most
// address in X-Forwarded-For that is not itself a trusted proxy (those to
// its left were written by the client, who may write anything).
func (a *Auth) clientAddress(r *http.Request) string {
	ip, ok := a.clientIP(r)
	if !ok {
		return r.RemoteAddr
	}
	return ip.String()
}

// addressKey is the per-address limits' key for the request: its client
// address, or for IPv6 the /64 it is in, since one host is given a whole
// /64 and could otherwise take a fresh allowance from each address of it.
func (a *Auth) addressKey(r *http.Request) string {
	ip, ok := a.clientIP(r)
	switch {
	case !ok:
		return r.RemoteAddr
	case ip.Is6():
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func (a *Auth) clientIP(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok || !a.trusted(peer) {
		return peer, ok
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		ip, ok := parseIP(hops[i])
		if !ok {
			// Not an address: the hop that wrote it cannot be trusted
			// further, so the last trusted one answers for it.
			return peer, true
		}
		if !a.trusted(ip) {
			return ip, true
		}
		peer = ip
	}
	return peer, true
}

func (a *Auth) trusted(ip netip.Addr) bool {
	return slices.ContainsFunc(a.proxies, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// forwardedFor is every X-Forwarded-For hop, left to right, across
// repeated headers.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// parseIP reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443"), IPv4-mapped IPv6 as IPv4.
func parseIP(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}
