package policy

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"
)

// MegolmAlgorithm is the encryption Element uses and clinical rooms require.
const MegolmAlgorithm = "m.megolm.v1.aes-sha2"

// Rule names, used in actions, problems and the audit log.
const (
	RuleEncryption        = "encryption"
	RuleJoinRule          = "join_rule"
	RuleGuestAccess       = "guest_access"
	RuleHistoryVisibility = "history_visibility"
	RuleServerACL         = "server_acl"
	RuleBotPower          = "bot_power"
)

// hardeningRule is one state a clinical room must hold.
type hardeningRule struct {
	name      string
	eventType string
	// what names the setting for people: "the join rule".
	what string
	// current describes the room's present value in words.
	current func(f RoomFacts) string
	ok      func(f RoomFacts, r Requirements) bool
	want    func(r Requirements) map[string]any
	// wantText describes the required value: "invite only".
	wantText string
}

var hardeningRules = []hardeningRule{
	{
		name: RuleEncryption, eventType: "m.room.encryption", what: "end-to-end encryption",
		current: func(f RoomFacts) string { return orWord(f.EncryptionAlgorithm, "off") },
		ok:      func(f RoomFacts, _ Requirements) bool { return f.EncryptionAlgorithm == MegolmAlgorithm },
		want: func(Requirements) map[string]any {
			return map[string]any{"algorithm": MegolmAlgorithm}
		},
		wantText: "on",
	},
	{
		name: RuleJoinRule, eventType: "m.room.join_rules", what: "the join rule",
		current: func(f RoomFacts) string { return orWord(f.JoinRule, "invite") },
		ok: func(f RoomFacts, r Requirements) bool {
			return f.JoinRule == "invite" || f.JoinRule == "" || (r.KnockAllowed && f.JoinRule == "knock")
		},
		want:     func(Requirements) map[string]any { return map[string]any{"join_rule": "invite"} },
		wantText: "invite only",
	},
	{
		name: RuleGuestAccess, eventType: "m.room.guest_access", what: "guest access",
		current: func(f RoomFacts) string { return orWord(f.GuestAccess, "forbidden") },
		ok:      func(f RoomFacts, _ Requirements) bool { return f.GuestAccess == "forbidden" || f.GuestAccess == "" },
		want: func(Requirements) map[string]any {
			return map[string]any{"guest_access": "forbidden"}
		},
		wantText: "forbidden",
	},
	{
		name: RuleHistoryVisibility, eventType: "m.room.history_visibility", what: "history visibility",
		current: func(f RoomFacts) string { return orWord(f.HistoryVisibility, "shared") },
		ok: func(f RoomFacts, _ Requirements) bool {
			return f.HistoryVisibility == "joined" || f.HistoryVisibility == "invited"
		},
		want: func(r Requirements) map[string]any {
			return map[string]any{"history_visibility": orWord(r.HistoryVisibility, "joined")}
		},
		wantText: "members only",
	},
	{
		name: RuleServerACL, eventType: "m.room.server_acl", what: "the server access list",
		current: func(f RoomFacts) string {
			if f.ServerACL == nil {
				return "missing"
			}
			return "allowing " + strings.Join(f.ServerACL.Allow, ", ")
		},
		ok: func(f RoomFacts, r Requirements) bool {
			if f.ServerACL == nil {
				return false
			}
			want := RequiredACL(r)
			got := slices.Clone(f.ServerACL.Allow)
			slices.Sort(got)
			return slices.Equal(got, want.Allow) && f.ServerACL.AllowIPLiterals == want.AllowIPLiterals
		},
		want: func(r Requirements) map[string]any {
			acl := RequiredACL(r)
			return map[string]any{"allow": acl.Allow, "deny": []string{}, "allow_ip_literals": acl.AllowIPLiterals}
		},
		wantText: "the federation's trusts only",
	},
}

// HardeningEventTypes are the state event types the hardening rules watch,
// plus the power levels (the bot's own power) and the policy event itself.
var HardeningEventTypes = func() []string {
	out := []string{"m.room.power_levels", PolicyEventType}
	for _, r := range hardeningRules {
		out = append(out, r.eventType)
	}
	return out
}()

// RequiredACL is the server ACL a clinical room must carry: exactly the
// federation's servers and our own. ACLs match host names without ports,
// so ports are dropped; IP literals are allowed only when a trust's server
// name is one (as in loopback test federations).
func RequiredACL(r Requirements) ServerACL {
	seen := map[string]bool{}
	acl := ServerACL{Allow: []string{}, Deny: []string{}}
	for _, s := range append([]string{r.OwnServer}, r.FederationServers...) {
		host, _, ok := spec.ParseAndValidateServerName(spec.ServerName(s))
		if !ok || seen[host] {
			continue
		}
		seen[host] = true
		if net.ParseIP(strings.Trim(host, "[]")) != nil {
			acl.AllowIPLiterals = true
			host = strings.Trim(host, "[]")
		}
		acl.Allow = append(acl.Allow, host)
	}
	slices.Sort(acl.Allow)
	return acl
}

// Harden decides what a clinical room needs to be compliant. Rooms of other
// classes need nothing. What the bot has the power to fix becomes a SetState
// action; what it has not becomes a Problem that says exactly what is missing.
func Harden(f RoomFacts, r Requirements) Decision {
	var d Decision
	if f.Class != Clinical {
		return d
	}
	botLevel := f.PowerLevels.UserLevel(r.BotUserID)
	if botLevel < BotPowerLevel {
		d.Problems = append(d.Problems, Problem{
			Rule: RuleBotPower,
			Text: fmt.Sprintf("I am at power level %d here; a clinical room needs me at %d so nobody can undo its protections. A room admin must make %s an admin (power level %d).", botLevel, BotPowerLevel, r.BotUserID, BotPowerLevel),
		})
	}
	for _, rule := range hardeningRules {
		if rule.ok(f, r) {
			continue
		}
		need := f.PowerLevels.EventLevel(rule.eventType, true)
		if botLevel < need {
			d.Problems = append(d.Problems, Problem{
				Rule: rule.name,
				Text: fmt.Sprintf("%s is %s but must be %s, and I cannot change it: that needs power level %d and I have %d.", capitalise(rule.what), rule.current(f), rule.wantText, need, botLevel),
			})
			continue
		}
		d.Actions = append(d.Actions, Action{
			Kind: SetState, Rule: rule.name, EventType: rule.eventType, Content: rule.want(r),
			Text:   fmt.Sprintf("%s: %s → %s", rule.what, rule.current(f), rule.wantText),
			Reason: fmt.Sprintf("clinical rooms require %s to be %s; it was %s", rule.what, rule.wantText, rule.current(f)),
		})
	}
	return d
}

// Check describes each hardening setting of a clinical room for status output.
type Check struct {
	Rule    string
	What    string
	Current string
	OK      bool
}

// Checks lists every hardening setting with its present value and verdict.
func Checks(f RoomFacts, r Requirements) []Check {
	out := make([]Check, 0, len(hardeningRules)+1)
	for _, rule := range hardeningRules {
		out = append(out, Check{Rule: rule.name, What: capitalise(rule.what), Current: rule.current(f), OK: rule.ok(f, r)})
	}
	botLevel := f.PowerLevels.UserLevel(r.BotUserID)
	out = append(out, Check{Rule: RuleBotPower, What: "My power level", Current: fmt.Sprint(botLevel), OK: botLevel >= BotPowerLevel})
	return out
}

func orWord(v, word string) string {
	if v == "" {
		return word
	}
	return v
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
