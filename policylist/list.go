package policylist

import (
	"slices"
	"sync"

	"go.mau.fi/util/glob"
)

// Limits bound what a list holds, so a runaway or hostile publisher cannot
// exhaust memory or flood a management room. Zero means the default.
type Limits struct {
	// MaxRules is how many rules may be in force at once (default 50,000);
	// beyond it, new rules are refused. Replacing a rule is always allowed.
	MaxRules int
	// MaxRefusals is how many refusals are kept for reporting (default
	// 1,000); older ones are dropped, and Counts still counts them.
	MaxRefusals int
	// MaxReasonBytes is how much of a rule's reason is kept (default 512).
	MaxReasonBytes int
}

const (
	DefaultMaxRules       = 50_000
	DefaultMaxRefusals    = 1_000
	DefaultMaxReasonBytes = 512
)

func (l Limits) withDefaults() Limits {
	if l.MaxRules <= 0 {
		l.MaxRules = DefaultMaxRules
	}
	if l.MaxRefusals <= 0 {
		l.MaxRefusals = DefaultMaxRefusals
	}
	if l.MaxReasonBytes <= 0 {
		l.MaxReasonBytes = DefaultMaxReasonBytes
	}
	return l
}

// key is where a rule lives: Matrix keeps one state event per (type, state
// key), and a sender may write at any key, including one another sender used.
type key struct{ typ, stateKey string }

// stemKey indexes user-rule globs: every accepted glob starts with
// minGlobPrefix literal characters, so only globs whose stem is the first
// characters of a localpart can match it.
type stemKey struct{ server, stem string }

// globStem returns the index key for a localpart or a glob over one, and
// false when it is too short to have a stem (no glob can match it).
func globStem(server, local string) (stemKey, bool) {
	if len(local) < minGlobPrefix {
		return stemKey{}, false
	}
	return stemKey{server, local[:minGlobPrefix]}, true
}

// entry is a rule in force with what matching needs.
type entry struct {
	Rule
	// server is a user rule's server; local matches a glob rule's localpart.
	// A glob is matched against the localpart only, and the server compared
	// exactly, so no pattern can reach a user on another server.
	server string
	local  glob.Glob
}

// List is one policy list room's rules in force. It is safe for concurrent
// use: one intake loop applies events while commands query.
type List struct {
	mu     sync.RWMutex
	auth   authority
	limits Limits

	rules     map[key]*entry
	byEventID map[string]key
	// exactBans holds user bans naming one user, by user ID: a join is a map
	// lookup. globBans holds the rest by server and literal stem: a join is
	// checked only against globs for its own server that start with the
	// same minGlobPrefix characters — the only ones that can match it.
	exactBans map[string][]*entry
	globBans  map[stemKey][]*entry
	// allowed counts the allow rules naming each server: two rules (say a
	// legacy and a stable type) may name the same trust.
	allowed map[string]int

	refusals
}

// New returns an empty list that judges events by auth. It fails when auth
// is inconsistent (a bot mapped to a server it is not on, a malformed ID).
func New(auth Authority, limits Limits) (*List, error) {
	a, err := auth.compile()
	if err != nil {
		return nil, err
	}
	limits = limits.withDefaults()
	return &List{
		auth:      a,
		limits:    limits,
		rules:     make(map[key]*entry),
		byEventID: make(map[string]key),
		exactBans: make(map[string][]*entry),
		globBans:  make(map[stemKey][]*entry),
		allowed:   make(map[string]int),
		refusals:  newRefusals(limits.MaxRefusals),
	}, nil
}

func (l *List) insert(at key, e *entry) {
	l.rules[at] = e
	if e.EventID != "" {
		l.byEventID[e.EventID] = at
	}
	switch {
	case e.Kind == KindUser && e.Recommendation == Ban && e.local != nil:
		k, _ := globStem(e.server, localOf(e.Entity))
		l.globBans[k] = append(l.globBans[k], e)
	case e.Kind == KindUser && e.Recommendation == Ban:
		l.exactBans[e.Entity] = append(l.exactBans[e.Entity], e)
	case e.Kind == KindServer && e.Recommendation == Allow:
		l.allowed[e.Entity]++
	}
}

func (l *List) delete(at key, e *entry) {
	delete(l.rules, at)
	delete(l.byEventID, e.EventID)
	switch {
	case e.Kind == KindUser && e.Recommendation == Ban && e.local != nil:
		k, _ := globStem(e.server, localOf(e.Entity))
		dropEntry(l.globBans, k, e)
	case e.Kind == KindUser && e.Recommendation == Ban:
		dropEntry(l.exactBans, e.Entity, e)
	case e.Kind == KindServer && e.Recommendation == Allow:
		if l.allowed[e.Entity]--; l.allowed[e.Entity] <= 0 {
			delete(l.allowed, e.Entity)
		}
	}
}

func dropEntry[K comparable](m map[K][]*entry, k K, e *entry) {
	kept := slices.DeleteFunc(m[k], func(x *entry) bool { return x == e })
	if len(kept) == 0 {
		delete(m, k)
	} else {
		m[k] = kept
	}
}
