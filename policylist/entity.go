package policylist

import (
	"fmt"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// minGlobPrefix is how many literal characters a user-rule glob must start
// with. A leaver rule names one person; a glob is tolerated only as a family
// of accounts with a common, named stem (@locum.smith*:trust-b). Without a
// literal stem a glob reaches across the whole trust: "*", "?*" and "*a*"
// each match nearly every user on a server, and would remove a trust's staff
// from every clinical room of the federation at once.
const minGlobPrefix = 3

// maxIDLength is the spec's limit for user IDs and server names.
const maxIDLength = 255

const wildcards = "*?"

func hasWildcard(s string) bool { return strings.ContainsAny(s, wildcards) }

// onlyWildcards reports whether s, as a glob, names nothing in particular.
func onlyWildcards(s string) bool {
	return s != "" && strings.Trim(s, wildcards) == ""
}

// asLiteral replaces each wildcard with a character every grammar accepts,
// so a glob can be checked with the same validator as a literal.
var asLiteral = strings.NewReplacer("*", "a", "?", "a")

// userEntity is a user rule's entity, checked.
type userEntity struct {
	local, server string
	glob          bool
}

// parseUserEntity checks a user rule's entity: a user ID, or a glob over the
// localpart of users on one named server. The returned problem is a sentence
// fragment about the entity, empty when it is acceptable.
func parseUserEntity(e string) (u userEntity, problem string) {
	if len(e) > maxIDLength {
		return u, "is longer than a user ID can be (255 bytes)"
	}
	rest, hadSigil := strings.CutPrefix(e, "@")
	local, server, found := strings.Cut(rest, ":")
	switch {
	case !found && onlyWildcards(rest):
		return u, "would match every user on every server"
	case !found:
		return u, "is not a user ID (@name:server)"
	case onlyWildcards(local) && (server == "" || hasWildcard(server)):
		return u, "would match every user on every server"
	case onlyWildcards(local):
		return u, fmt.Sprintf("would match every user on %s", server)
	case hasWildcard(server):
		return u, "names its server by a glob; a user rule must name one server"
	case !hadSigil:
		return u, "is not a user ID (@name:server)"
	case local == "":
		return u, "is not a user ID: the name before the server is empty"
	}
	u = userEntity{local: local, server: server, glob: hasWildcard(local)}
	if u.glob {
		stem := local[:strings.IndexAny(local, wildcards)]
		if len(stem) < minGlobPrefix {
			return u, fmt.Sprintf("is too broad: a glob must start with at least %d literal characters of the name", minGlobPrefix)
		}
		e = "@" + asLiteral.Replace(local) + ":" + server
	}
	if _, err := spec.NewUserID(e, true); err != nil {
		return u, "is not a valid user ID (" + err.Error() + ")"
	}
	return u, ""
}

// serverProblem checks a server rule's entity: a server name, or a glob
// over server names that names something (not "*" or "*.*").
func serverProblem(e string, allowGlob bool) string {
	if len(e) > maxIDLength {
		return "is longer than a server name can be (255 bytes)"
	}
	if hasWildcard(e) {
		if !allowGlob {
			return "is a glob; a member trust must be named exactly"
		}
		if strings.Trim(e, wildcards+".") == "" {
			return "would match every server"
		}
		e = asLiteral.Replace(e)
	}
	if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(e)); !ok {
		return "is not a server name (e.g. matrix.trust-b.nhs.uk)"
	}
	return ""
}

// roomProblem checks a room rule's entity: a room ID or alias, or a glob
// over them. Room IDs have no server part from room version 12, so only
// the sigil and the length are checked.
func roomProblem(e string) string {
	switch {
	case len(e) > maxIDLength:
		return "is longer than a room ID can be (255 bytes)"
	case onlyWildcards(e) || onlyWildcards(strings.TrimLeft(e, "!#")):
		return "would match every room"
	case !strings.HasPrefix(e, "!") && !strings.HasPrefix(e, "#") || len(e) == 1:
		return "is not a room ID or alias (!id or #alias:server)"
	case strings.ContainsFunc(e, func(r rune) bool { return r <= ' ' }):
		return "is not a room ID or alias: it contains spaces or control characters"
	}
	return ""
}
