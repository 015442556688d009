package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// One rule for naming the federation's trusts: an entry of
// federation.servers, and a key of federation.bots, is the trust's Matrix
// server name exactly as it appears in its user IDs — a host name
// (trust-b.nhs.uk), or host:port when the server name has a port
// (127.0.0.12:8448). The trust's bot (@<localpart>:<server>) and its
// attestation room (#<attestation_alias>:<server>) are derived from it,
// port included. Only the rooms' server ACLs drop ports, because ACLs
// match host names alone (policy.RequiredACL).

// serverNameProblems checks that federation.bots and federation.servers
// follow the rule. A host listed without a port is the right name for most
// trusts, so it is refused only when another key shows that the trust's
// server name has a port.
func (f *Federation) serverNameProblems(p *problems, botLocalpart string) {
	for _, server := range slices.Sorted(maps.Keys(f.Bots)) {
		u := f.Bots[server]
		uid, err := spec.NewUserID(u, true)
		switch {
		case err != nil:
			p.add("federation.bots", "%q for %s is not a Matrix user ID (@user:server)", u, server)
		case string(uid.Domain()) == server:
		case hostOf(string(uid.Domain())) == hostOf(server):
			p.add("federation.bots", "%s is on the server %s, not %s: name each trust by its server name as it appears in its user IDs, port included (%s), here and in federation.servers", u, uid.Domain(), server, uid.Domain())
		default:
			p.add("federation.bots", "%q for %s is not a Matrix user ID on that server (a trust's bot speaks only for its own server)", u, server)
		}
	}
	named := f.federationServerNames()
	for i, s := range f.Servers {
		if hostOf(s) != s || named[s] != "" {
			continue // has a port, or is named so elsewhere too
		}
		for name, where := range named {
			if name != s && hostOf(name) == s {
				p.add(fmt.Sprintf("federation.servers[%d]", i), "%q has no port, but %s names the server %s: list the server name as it appears in its user IDs (%s), or its bot is looked for as @%s:%s and never found", s, where, name, name, botLocalpart, s)
				break
			}
		}
	}
}

// federationServerNames are the other trusts' server names that the
// federation keys spell out (in user IDs and room aliases), each with the
// first key that names it.
func (f *Federation) federationServerNames() map[string]string {
	out := map[string]string{}
	note := func(server, key string) {
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(server)); ok && out[server] == "" {
			out[server] = key
		}
	}
	userServer := func(u string) string {
		if uid, err := spec.NewUserID(u, true); err == nil {
			return string(uid.Domain())
		}
		return ""
	}
	aliasServer := func(a string) string {
		_, server, _ := strings.Cut(a, ":")
		return server
	}
	for _, server := range slices.Sorted(maps.Keys(f.Bots)) {
		note(userServer(f.Bots[server]), "federation.bots")
	}
	for _, u := range slices.Sorted(maps.Keys(f.BotKeys)) {
		note(userServer(u), "federation.bot_keys")
	}
	for _, u := range f.Admins {
		note(userServer(u), "federation.admins")
	}
	for _, a := range f.AttestationRooms {
		note(aliasServer(a), "federation.attestation_rooms")
	}
	if f.PolicyList != "" {
		note(aliasServer(f.PolicyList), "federation.policy_list")
	}
	return out
}

// hostOf is a server name without its port ("" if it is not one).
func hostOf(server string) string {
	host, _, ok := spec.ParseAndValidateServerName(spec.ServerName(server))
	if !ok {
		return ""
	}
	return host
}
