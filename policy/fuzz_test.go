package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzParseCommand checks the reading of any message body as a command: a
// body read as one gives a lower-case name and arguments with no spaces in
// them, taken from its first line; writing that command back as
// "!policy name args…" reads as the same command; and nothing panics,
// whatever the bot's configured name.
func FuzzParseCommand(f *testing.F) {
	const bot, name = "@caldicott:trust-a.nhs.uk", "Caldicott"
	for _, s := range []string{
		"!policy classify clinical",
		"  !policy   STATUS  ",
		"Caldicott: !policy status",
		"@caldicott:trust-a.nhs.uk: remove @nurse:trust-b.nhs.uk",
		"!policy new-room clinical Ward 7 handover",
		"> <@x:y> !policy status\n\nthanks",
		"!policyclassify clinical",
		"caldicott, retention 30d",
	} {
		f.Add(s, bot, name)
	}
	f.Add("Ⱥ", bot, "Ⱥ")
	f.Add("CALDİCOTT status", bot, "caldicott")
	f.Fuzz(func(t *testing.T, body, botID, display string) {
		cmd, ok := ParseCommand(body, botID, display)
		if !ok {
			if cmd.Name != "" || cmd.Args != nil {
				t.Fatalf("not a command, yet %+v", cmd)
			}
			return
		}
		if cmd.Name == "" {
			t.Fatalf("%q read as a command without a name", body)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
		for _, w := range append([]string{cmd.Name}, cmd.Args...) {
			if w == "" || strings.ContainsFunc(w, unicode.IsSpace) {
				t.Fatalf("%q read as %+v: a word is empty or holds a space", body, cmd)
			}
			if cmd.Name != "help" && !strings.Contains(strings.ToLower(first), strings.ToLower(w)) {
				t.Fatalf("%q read as %+v: %q is not in its first line", body, cmd, w)
			}
		}
		if cmd.Name != strings.ToLower(cmd.Name) {
			t.Fatalf("%q read as %+v: the name is not lower case", body, cmd)
		}
		// A name starting with ':' or ',' cannot be written back: after
		// the prefix those are read as punctuation ("!policy, status"). No
		// command is named so; such a name is answered as unknown.
		if strings.ContainsAny(cmd.Name[:1], ":,") {
			return
		}
		again, ok := ParseCommand(CommandPrefix+" "+strings.Join(append([]string{cmd.Name}, cmd.Args...), " "), botID, display)
		if !ok || again.Name != cmd.Name || !slices.Equal(again.Args, cmd.Args) {
			t.Fatalf("%q read as %+v, which written back reads as %+v, %v", body, cmd, again, ok)
		}
	})
}

// FuzzEffectiveRetention checks the reading of any m.room.retention
// content: a classified room always keeps messages for a period within
// its class's bounds (never zero, never forever), and a setting that is
// not taken as written says why.
func FuzzEffectiveRetention(f *testing.F) {
	rules := RetentionRules{
		Clinical:    {Default: 8 * 365 * 24 * time.Hour, Min: 365 * 24 * time.Hour, Max: 30 * 365 * 24 * time.Hour},
		Operational: {Default: 90 * 24 * time.Hour, Min: 24 * time.Hour, Max: 365 * 24 * time.Hour},
		Social:      {Default: 30 * 24 * time.Hour, Min: time.Hour, Max: 90 * 24 * time.Hour},
	}
	classes := []Class{Clinical, Operational, Social, ""}
	for _, s := range []string{
		`{"max_lifetime":2592000000}`,
		`{"max_lifetime":86400000,"min_lifetime":3600000}`,
		`{"max_lifetime":0}`,
		`{"max_lifetime":-1}`,
		`{"max_lifetime":1e300}`,
		`{"max_lifetime":2.592e9}`,
		`{"max_lifetime":"30d"}`,
		`{"max_lifetime":2592000000,"org.caldicott.class_default":true}`,
		`{}`,
		`null`,
		`[]`,
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, raw []byte, class uint8) {
		c := classes[int(class)%len(classes)]
		r := EffectiveRetention(c, json.RawMessage(raw), rules)
		limits, classified := rules[c]
		if !classified {
			if r != (Retention{}) {
				t.Fatalf("unclassified room given %+v", r)
			}
			return
		}
		if r.MaxLifetime < limits.Min || r.MaxLifetime > limits.Max {
			t.Fatalf("%s room with %s keeps messages for %v, outside [%v, %v]", c, raw, r.MaxLifetime, limits.Min, limits.Max)
		}
		if r.MinLifetime < 0 || r.MinLifetime > r.MaxLifetime {
			t.Fatalf("%s room with %s: minimum %v, maximum %v", c, raw, r.MinLifetime, r.MaxLifetime)
		}
		if !r.FromRoom && r.MaxLifetime != limits.Default {
			t.Fatalf("%s room with %s: not the room's setting, yet %v is not the default", c, raw, r.MaxLifetime)
		}
		var content struct {
			MaxLifetime json.Number `json:"max_lifetime"`
		}
		if r.FromRoom && r.Problem == "" {
			if json.Unmarshal(raw, &content) != nil || content.MaxLifetime.String() == "" {
				t.Fatalf("%s room with %s: taken from the room without a readable max_lifetime", c, raw)
			}
			if ms, err := content.MaxLifetime.Float64(); err != nil || time.Duration(ms)*time.Millisecond != r.MaxLifetime {
				t.Fatalf("%s room with %s: taken as written, yet keeps %v", c, raw, r.MaxLifetime)
			}
		}
	})
}
