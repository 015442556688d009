package config

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// Federation lists the trusts' homeservers that clinical rooms may span.
type Federation struct {
	// Servers are the other trusts' server names exactly as in their user
	// IDs: host, or host:port when the server name has a port.
	Servers []string `yaml:"servers"`
	// AttestationAlias is the localpart of the alias of the room where this
	// trust publishes its signed identity attestations, for the other trusts.
	AttestationAlias string `yaml:"attestation_alias"`
	// AttestationRooms are the other trusts' attestation rooms, by alias.
	// Empty means #<attestation_alias>:<server> for each of Servers.
	AttestationRooms []string `yaml:"attestation_rooms"`
	// BotKeys pins other trusts' Caldicott bots to their cross-signing
	// master keys (user ID -> unpadded base64). A bot not listed is trusted
	// on first use and pinned in the database.
	BotKeys map[string]string `yaml:"bot_keys"`
	// PolicyList is the alias of the federation's policy list room (the
	// standard MSC2313 rules), which every trust's bot joins: leavers and
	// suspended staff as user bans, the member trusts as allowed servers.
	// The trust whose server the alias names creates it. Empty: no list.
	PolicyList string `yaml:"policy_list"`
	// Admins may change which servers are member trusts (`!policy trust
	// add|remove`), for the whole federation.
	Admins []string `yaml:"admins"`
	// Bots names the other trusts' Caldicott bots by server name (as in
	// Servers); a server not listed has @<this bot's localpart>:<server>.
	Bots map[string]string `yaml:"bots"`
}

// BotOf is the Caldicott bot of a member trust's server, named as in its
// user IDs (port included when it has one; see servernames.go).
func (f Federation) BotOf(server, ownLocalpart string) string {
	if b, ok := f.Bots[server]; ok {
		return b
	}
	return "@" + ownLocalpart + ":" + server
}

// AttestationSources are the aliases of the other trusts' attestation rooms:
// as listed, or #<attestation_alias>:<server> for each server (port included).
func (f Federation) AttestationSources() []string {
	if len(f.AttestationRooms) > 0 {
		return f.AttestationRooms
	}
	out := make([]string, 0, len(f.Servers))
	for _, s := range f.Servers {
		out = append(out, "#"+f.AttestationAlias+":"+s)
	}
	return out
}

func (f *Federation) defaults() {
	setDefault(&f.AttestationAlias, "caldicott-attestations")
}

// validate checks the section; botLocalpart is this trust's bot's, which
// the other trusts' bots are derived from (see servernames.go).
func (f *Federation) validate(p *problems, botLocalpart string) {
	for i, s := range f.Servers {
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(s)); !ok || strings.ContainsAny(s, "*?") {
			p.add(fmt.Sprintf("federation.servers[%d]", i), "%q is not a server name (write it as in the trust's user IDs, e.g. matrix.trust-b.nhs.uk, or 127.0.0.12:8448 when it has a port)", s)
		}
	}
	if a := f.AttestationAlias; strings.ContainsAny(a, "#:/ ") {
		p.add("federation.attestation_alias", "%q must be an alias localpart only (e.g. caldicott-attestations)", a)
	}
	for i, a := range f.AttestationRooms {
		if !isRoomAlias(a) {
			p.add(fmt.Sprintf("federation.attestation_rooms[%d]", i), "%q is not a room alias (#name:server)", a)
		}
	}
	for u, k := range f.BotKeys {
		if _, err := spec.NewUserID(u, true); err != nil {
			p.add("federation.bot_keys", "%q is not a Matrix user ID (@user:server)", u)
		}
		if !isMasterKey(k) {
			p.add("federation.bot_keys", "the key for %s is not an ed25519 master key (43 characters of base64, as `!policy verification` shows it)", u)
		}
	}
	if a := f.PolicyList; a != "" && !isRoomAlias(a) {
		p.add("federation.policy_list", "%q is not a room alias (#name:server)", a)
	}
	p.checkUserIDs("federation.admins", f.Admins)
	f.serverNameProblems(p, botLocalpart)
}

// isRoomAlias: a is #name:server.
func isRoomAlias(a string) bool {
	local, server, found := strings.Cut(strings.TrimPrefix(a, "#"), ":")
	_, _, ok := spec.ParseAndValidateServerName(spec.ServerName(server))
	return strings.HasPrefix(a, "#") && found && local != "" && ok
}

// isMasterKey: k is an ed25519 public key in base64 (padded or not,
// spaces allowed), as clients show a cross-signing master key.
func isMasterKey(k string) bool {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.ReplaceAll(k, " ", ""), "="))
	return err == nil && len(raw) == 32
}
