package kit

import (
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/policy"
)

// IsTrustBot: user is the Caldicott bot of this trust or of a member trust.
func (k *Kit) IsTrustBot(user string) bool {
	server := k.TrustServerOf(user)
	return server != "" && k.TrustBot(server) == user
}

// IGAdminIn: user is an IG admin of this trust and the room is this
// trust's (created by someone of its server); elsewhere an IG admin has the
// power the room gave them, like anyone else.
func (k *Kit) IGAdminIn(user id.UserID, f policy.RoomFacts) bool {
	return policy.IGAdminHere(k.IsIGAdmin(user), f.Creator, k.Cfg.Homeserver.Domain)
}

// ActOnPerson is a request from caller to act on target in a room, with
// the room's levels, the caller's standing and whom to ask instead.
func (k *Kit) ActOnPerson(act policy.PersonAct, caller, target id.UserID, f policy.RoomFacts, members map[string]string) policy.ActOnPerson {
	a := policy.NewActOnPerson(act, caller.String(), target.String(), k.BotID.String(), f.PowerLevels,
		k.IsIGAdmin(caller), policy.OwnTrustRoom(f.Creator, k.Cfg.Homeserver.Domain))
	a.Deciders = policy.Deciders(act, a.TargetLevel, k.People(members), k.BotID.String(), f.PowerLevels)
	return a
}

// People lists a room's members who are people: the trusts' Caldicott
// bots left out (nobody is told to ask a bot).
func (k *Kit) People(members map[string]string) []string {
	out := make([]string, 0, len(members))
	for uid := range members {
		if !k.IsTrustBot(uid) {
			out = append(out, uid)
		}
	}
	return out
}
