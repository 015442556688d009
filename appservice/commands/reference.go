package commands

import (
	"fmt"
	"strings"

	"github.com/caldicott/caldicott/policy"
)

// Markers around the generated table in docs/commands.md.
const (
	ReferenceBegin = "<!-- commands:begin (made from the registry; see appservice/commandlist.go) -->"
	ReferenceEnd   = "<!-- commands:end -->"
)

// Reference is the command table of docs/commands.md, made from the list.
func (r *Registry) Reference() string {
	var b strings.Builder
	b.WriteString("| command | where | who | what it does |\n|---|---|---|---|\n")
	for _, c := range r.list {
		doc := c.Doc
		if doc == "" {
			doc = c.Summary
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", escapeCell(c.Usage), placeWords(c.Place), needsWords(c.Needs), escapeCell(doc))
	}
	return b.String()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func placeWords(p policy.Place) string {
	switch p {
	case policy.InRoom:
		return "the room"
	case policy.InManagementOrDM:
		return "the management room or a direct chat with the bot"
	case policy.InManagement:
		return "the management room"
	}
	return "anywhere"
}

func needsWords(n policy.Permission) string {
	switch n {
	case policy.RoomPolicyPower:
		return "room admins (power to change room policy) or IG admins (in their own trust's rooms)"
	case policy.OwnTrustUser:
		return "a user of this trust's server, or an IG admin"
	case policy.IGAdmin:
		return "IG admins"
	case policy.RoomUpgradePower:
		return "room admins with the power to upgrade the room (to send `m.room.tombstone`)"
	}
	return "anyone"
}
