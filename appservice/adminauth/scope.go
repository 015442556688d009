package adminauth

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is what a token may do. None implies another: export is not read.
type Scope string

// The scopes.
const (
	// ScopeRead reads compliance, people, reviews, retention, records,
	// federation: no message content.
	ScopeRead Scope = "read"
	// ScopeExport exports the audit log and subject-access bundles, which
	// hold messages and so patient data.
	ScopeExport Scope = "export"
	// ScopeAct changes things (legal holds placed and lifted, membership
	// reviews started), as the person the token is for, an IG admin, by
	// the rules the same commands follow in the room.
	ScopeAct Scope = "act"
)

// Scopes are every scope, in order.
var Scopes = []Scope{ScopeRead, ScopeExport, ScopeAct}

// ParseScopes reads scopes as given on the command line; an unknown one,
// or none, is an error naming those there are.
func ParseScopes(in []string) ([]Scope, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("give at least one scope (%s)", scopeList())
	}
	var out []Scope
	for _, s := range in {
		sc := Scope(strings.ToLower(strings.TrimSpace(s)))
		if !slices.Contains(Scopes, sc) {
			return nil, fmt.Errorf("unknown scope %q (the scopes are %s; read does not include export)", s, scopeList())
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	slices.SortFunc(out, func(a, b Scope) int { return slices.Index(Scopes, a) - slices.Index(Scopes, b) })
	return out, nil
}

func scopeList() string {
	names := make([]string, len(Scopes))
	for i, s := range Scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
