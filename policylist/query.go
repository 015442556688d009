package policylist

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// MatchUser returns the ban rules that match userID: those naming it
// exactly (a map lookup), then the globs published for its server that share
// its first characters (another lookup, then a short scan).
func (l *List) MatchUser(userID string) []Rule {
	local, server, ok := splitUserID(userID)
	if !ok {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Rule
	for _, e := range l.exactBans[userID] {
		out = append(out, e.Rule)
	}
	for _, e := range l.globsFor(local, server) {
		if e.local.Match(local) {
			out = append(out, e.Rule)
		}
	}
	return out
}

// Banned returns the first ban rule that matches userID — the question a
// join asks — without allocating.
func (l *List) Banned(userID string) (Rule, bool) {
	local, server, ok := splitUserID(userID)
	if !ok {
		return Rule{}, false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if es := l.exactBans[userID]; len(es) > 0 {
		return es[0].Rule, true
	}
	for _, e := range l.globsFor(local, server) {
		if e.local.Match(local) {
			return e.Rule, true
		}
	}
	return Rule{}, false
}

// globsFor returns the globs that could match a user; the caller holds mu.
func (l *List) globsFor(local, server string) []*entry {
	if k, ok := globStem(server, local); ok {
		return l.globBans[k]
	}
	return nil
}

// splitUserID splits "@local:server". Anything else matches no rule.
func splitUserID(userID string) (local, server string, ok bool) {
	rest, ok := strings.CutPrefix(userID, "@")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// AllowedServers returns the member trusts — the servers named by allow
// rules — sorted, each once: the allow list of every clinical room's
// m.room.server_acl. Server ACLs compare host names without ports, so a
// member named with a port (trust-b:8448) needs its port stripped there.
func (l *List) AllowedServers() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Sorted(maps.Keys(l.allowed))
}

// Rules returns every rule in force, sorted by kind, entity, type and state
// key, for status pages and for persisting the last authorised state.
func (l *List) Rules() []Rule {
	l.mu.RLock()
	out := make([]Rule, 0, len(l.rules))
	for _, e := range l.rules {
		out = append(out, e.Rule)
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b Rule) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Entity, b.Entity),
			cmp.Compare(a.Type, b.Type), cmp.Compare(a.StateKey, b.StateKey))
	})
	return out
}

// Counts summarises the list for `!policy federation`.
type Counts struct {
	Rules            int
	ByKind           map[Kind]int
	ByRecommendation map[Recommendation]int
	// BySenderServer counts rules by the server of their sender: for user
	// rules, how many leavers and suspensions each trust has published.
	BySenderServer map[string]int
	// Refused counts every refusal since the list was made, including those
	// no longer kept by Refused.
	Refused int
}

// Counts counts the rules in force and the refusals.
func (l *List) Counts() Counts {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c := Counts{
		Rules:            len(l.rules),
		ByKind:           make(map[Kind]int),
		ByRecommendation: make(map[Recommendation]int),
		BySenderServer:   make(map[string]int),
		Refused:          l.total,
	}
	for _, e := range l.rules {
		c.ByKind[e.Kind]++
		c.ByRecommendation[e.Recommendation]++
		c.BySenderServer[serverOf(e.Sender)]++
	}
	return c
}

// Refused returns the most recent refusals (at most Limits.MaxRefusals),
// oldest first.
func (l *List) Refused() []Refusal {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.list()
}
