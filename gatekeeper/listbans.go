package gatekeeper

import (
	"strings"

	"go.mau.fi/util/glob"

	"github.com/caldicott/caldicott/store"
)

// listBans answers "has their trust published this person as a leaver?"
// from the bans in the federation view. The appservice's list checked each
// rule (a user ID, or a glob over the localparts of one named server, with
// a literal stem); here they are only matched, as policylist matches them.
type listBans struct {
	exact map[string]string
	globs map[string][]globBan // by server
}

type globBan struct {
	local  glob.Glob
	reason string
}

func newListBans(bans []store.ListBan) *listBans {
	b := &listBans{exact: map[string]string{}, globs: map[string][]globBan{}}
	for _, ban := range bans {
		local, server, ok := strings.Cut(strings.TrimPrefix(ban.Entity, "@"), ":")
		switch {
		case !ok || !strings.HasPrefix(ban.Entity, "@"):
		case strings.ContainsAny(local, "*?"):
			b.globs[server] = append(b.globs[server], globBan{local: glob.Compile(local), reason: ban.Reason})
		default:
			if _, dup := b.exact[ban.Entity]; !dup {
				b.exact[ban.Entity] = ban.Reason
			}
		}
	}
	return b
}

// reason is why userID is barred, and whether they are.
func (b *listBans) reason(userID string) (string, bool) {
	if r, ok := b.exact[userID]; ok {
		return r, true
	}
	local, server, ok := strings.Cut(strings.TrimPrefix(userID, "@"), ":")
	if !ok {
		return "", false
	}
	for _, g := range b.globs[server] {
		if g.local.Match(local) {
			return g.reason, true
		}
	}
	return "", false
}
