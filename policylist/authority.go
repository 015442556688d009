package policylist

import (
	"fmt"
	"maps"
	"slices"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// Authority says who may say what in the list room. Matrix authenticates a
// sender's server, not its intentions: any member with the power to send
// state can write any rule under any key. So the list checks every event
// against this, not against the room's power levels alone.
type Authority struct {
	// Bots maps each trust's Caldicott bot to the server it speaks for. A
	// bot may publish and withdraw user rules only about users on that
	// server. The server must be the bot's own: a federation authenticates
	// the sender's server, so a bot "speaking for" another server would let
	// one trust forge another's leavers.
	Bots map[string]string
	// Admins are the federation's admins. Only they may publish or withdraw
	// server rules (the allow rules are the list of member trusts) and room
	// rules. A bot listed here gains that power too — list one only if the
	// federation agrees that its trust's Caldicott may change membership.
	Admins []string
}

// authority is an Authority checked and indexed.
type authority struct {
	bots   map[string]string
	admins map[string]bool
}

func (a Authority) compile() (authority, error) {
	out := authority{bots: make(map[string]string, len(a.Bots)), admins: make(map[string]bool, len(a.Admins))}
	for _, bot := range slices.Sorted(maps.Keys(a.Bots)) {
		server := a.Bots[bot]
		id, err := spec.NewUserID(bot, true)
		if err != nil {
			return authority{}, fmt.Errorf("bot %q is not a user ID: %w", bot, err)
		}
		if string(id.Domain()) != server {
			return authority{}, fmt.Errorf("bot %s is mapped to %q but is on %s: a bot may speak only for its own server", bot, server, id.Domain())
		}
		out.bots[bot] = server
	}
	for _, admin := range a.Admins {
		if _, err := spec.NewUserID(admin, true); err != nil {
			return authority{}, fmt.Errorf("admin %q is not a user ID: %w", admin, err)
		}
		out.admins[admin] = true
	}
	return out, nil
}

// mayRemove says why sender may not withdraw r, or "" when it may: the
// sender must be one who could have published r.
func (a authority) mayRemove(sender string, r *Rule) string {
	switch r.Kind {
	case KindUser:
		server, isBot := a.bots[sender]
		if !isBot {
			return fmt.Sprintf("%s is not a trust's bot, so it may not withdraw a user rule", sender)
		}
		if entityServer := serverOf(r.Entity); server != entityServer {
			return fmt.Sprintf("%s speaks for %s, so it may not withdraw a rule about a user on %s", sender, server, entityServer)
		}
	default:
		if !a.admins[sender] {
			return fmt.Sprintf("%s is not a federation admin, so it may not withdraw a %s rule", sender, r.Kind)
		}
	}
	return ""
}
