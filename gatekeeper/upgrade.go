package gatekeeper

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/caldicott/caldicott/policy"
)

// EndpointClientUpgrade names the judgement of room upgrades
// (config.GatekeeperEndpoints).
const EndpointClientUpgrade = "client_upgrade"

// judgeUpgrade: POST /rooms/{roomID}/upgrade. The homeserver's upgrade
// makes an invite-only replacement the bot is not in, unguarded until
// someone invites it; so a clinical room is upgraded only by the bot
// (`!policy upgrade`), which creates the replacement itself. The body (the
// version) does not matter and streams on untouched.
func (g *Gatekeeper) judgeUpgrade(_ http.ResponseWriter, r *http.Request) *Refusal {
	roomID, f := pathParam(r, "roomID")
	if f != nil {
		return f
	}
	if g.asBot(r) {
		return nil
	}
	return g.byClass(r, roomID, func(c policy.Class) *Refusal {
		if d := policy.UpgradeGate(false, c); !d.Allow {
			return forbidden(d.Rule, d.Reason)
		}
		return nil
	})
}

// asBot: the request is the bot's own, the appservice's token acting as
// the bot (no user_id, or the bot's; every user_id given counts, so one
// the homeserver might read differently cannot slip through).
func (g *Gatekeeper) asBot(r *http.Request) bool {
	token, ok := strings.CutPrefix(userAuth(r), "Bearer ")
	if !ok || g.s.ASToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(g.s.ASToken)) != 1 {
		return false
	}
	for _, u := range r.URL.Query()["user_id"] {
		if u != g.s.Rules.BotUserID {
			return false
		}
	}
	return true
}
