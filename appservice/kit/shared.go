package kit

import (
	"context"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// TrustServerOf is the member trust a user belongs to (our server, or one
// of the federation's as config or the list names it), or "".
func (k *Kit) TrustServerOf(user string) string {
	server := id.UserID(user).Homeserver()
	if server == k.Cfg.Homeserver.Domain {
		return server
	}
	for _, s := range k.Requirements().FederationServers {
		if policy.InFederation(server, []string{s}) {
			if s != server {
				k.warnPortless(s, server)
			}
			return s
		}
	}
	return ""
}

// warnPortless tells the operator, once, that a federation.servers entry
// names a trust by host while its users' server name has a port: the
// gate and the ACL still admit them (both match hosts), but that trust's
// bot and attestation room are derived from the entry and so never found.
func (k *Kit) warnPortless(entry, server string) {
	if _, done := k.portWarned.LoadOrStore(entry+" "+server, true); done {
		return
	}
	k.Log.Warn().Str("federation_server", entry).Str("server_name", server).
		Msg("federation.servers names this trust without the port its user IDs carry: list the server name exactly as in its user IDs, or its bot and attestation room are looked for on the wrong server")
}

// TrustBot is the Caldicott bot of a member trust's server.
func (k *Kit) TrustBot(server string) string {
	if server == k.Cfg.Homeserver.Domain {
		return k.BotID.String()
	}
	return k.Cfg.Federation.BotOf(server, k.BotID.Localpart())
}

// Shared reads which trusts' bots are in a room, with their power, so the
// rules can say which bot acts on what.
func (k *Kit) Shared(ctx context.Context, f policy.RoomFacts) (policy.SharedRoom, error) {
	members, err := k.Facts.Members(ctx, id.RoomID(f.RoomID))
	if err != nil {
		return policy.SharedRoom{}, err
	}
	r := policy.SharedRoom{
		CreatorServer: k.TrustServerOf(f.Creator),
		Bots:          map[string]int64{},
		HardenPower:   f.PowerLevels.EventLevel("m.room.power_levels", true),
		KickPower:     f.PowerLevels.Kick,
	}
	for _, server := range append([]string{k.Cfg.Homeserver.Domain}, k.Requirements().FederationServers...) {
		bot := k.TrustBot(server)
		if _, in := members[bot]; in || bot == k.BotID.String() {
			r.Bots[server] = f.PowerLevels.UserLevel(bot)
		}
	}
	return r, nil
}

// HardensHere reports whether this trust's bot restores the room's
// protections (it does unless another trust's bot in the room does).
func (k *Kit) HardensHere(ctx context.Context, f policy.RoomFacts) (bool, error) {
	r, err := k.Shared(ctx, f)
	if err != nil {
		return false, err
	}
	h := r.HardeningServer()
	return h == "" || h == k.Cfg.Homeserver.Domain, nil
}

// JudgesHere reports whether this trust's bot judges user in the room: its
// own staff, and others whose own trust's bot is not there to.
func (k *Kit) JudgesHere(ctx context.Context, f policy.RoomFacts, user string) (bool, error) {
	r, err := k.Shared(ctx, f)
	if err != nil {
		return false, err
	}
	j := r.JudgingServer(k.TrustServerOf(user))
	return j == "" || j == k.Cfg.Homeserver.Domain, nil
}
