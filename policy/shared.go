package policy

import (
	"slices"
	"strings"
)

// SharedRoom is what decides, in a clinical room several trusts' bots are
// in, which bot acts on what — so they never fight (one reverting what the
// other set) and nothing is left undone (a hand-over when a bot is gone or
// lacks the power).
type SharedRoom struct {
	// CreatorServer is the trust server of the room's creator.
	CreatorServer string
	// Bots are the trusts' bots in the room: trust server → the bot's power.
	Bots map[string]int64
	// HardenPower is what restoring the protections takes (the power to
	// change power levels); KickPower what removing a member takes.
	HardenPower, KickPower int64
}

// HardeningServer is the trust whose bot restores the room's protections:
// the creator's trust while its bot is in the room with the power to, else
// the first trust by server name whose bot is. "" when no bot can.
func (r SharedRoom) HardeningServer() string {
	if p, ok := r.Bots[r.CreatorServer]; ok && p >= r.HardenPower {
		return r.CreatorServer
	}
	return r.first(r.HardenPower)
}

// JudgingServer is the trust whose bot judges a member of the given trust
// server ("" for someone of no trust): their own trust's bot while it is in
// the room with the power to remove them, else the hardening trust's.
func (r SharedRoom) JudgingServer(memberServer string) string {
	if p, ok := r.Bots[memberServer]; ok && memberServer != "" && p >= r.KickPower {
		return memberServer
	}
	if h := r.HardeningServer(); h != "" {
		return h
	}
	return r.first(r.KickPower)
}

func (r SharedRoom) first(need int64) string {
	servers := make([]string, 0, len(r.Bots))
	for s, p := range r.Bots {
		if p >= need {
			servers = append(servers, s)
		}
	}
	slices.SortFunc(servers, strings.Compare)
	if len(servers) == 0 {
		return ""
	}
	return servers[0]
}
