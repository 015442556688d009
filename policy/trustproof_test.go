package policy

import (
	"strings"
	"testing"
)

func TestTrustProofProblem(t *testing.T) {
	const list = "!list:a"
	admins := []string{"@ig:a"}
	req := func(room, sender, typ, body string) TrustRequest {
		return TrustRequest{EventID: "$req", RoomID: room, Sender: sender, Type: typ, Body: body}
	}
	tests := []struct {
		name   string
		req    TrustRequest
		entity string
		ban    bool
		want   string // "" = proven; otherwise a fragment of the reason
	}{
		{"the admin asked to add it", req(list, "@ig:a", "m.room.message", "!policy trust add trust-c.nhs.uk"), "trust-c.nhs.uk", false, ""},
		{"the admin asked to remove it", req(list, "@ig:a", "m.room.message", "!policy trust remove 127.0.0.12:8448"), "127.0.0.12:8448", true, ""},
		{"verb in capitals", req(list, "@ig:a", "m.room.message", "!policy trust ADD trust-c"), "trust-c", false, ""},
		{"no proof cited", TrustRequest{}, "evil.example", false, "cites no request"},
		{"asked in another room", req("!mgmt:b", "@ig:a", "m.room.message", "!policy trust add evil.example"), "evil.example", false, "not made in the federation's list room"},
		{"asked by someone else", req(list, "@ig:b", "m.room.message", "!policy trust add evil.example"), "evil.example", false, "not one of the federation's admins"},
		{"a trust's bot's own message", req(list, "@caldicott:b", "m.room.message", "!policy trust add evil.example"), "evil.example", false, "not one of the federation's admins"},
		{"a state event, not a message", req(list, "@ig:a", "m.room.topic", "!policy trust add evil.example"), "evil.example", false, "not a message"},
		{"another server", req(list, "@ig:a", "m.room.message", "!policy trust add trust-c"), "evil.example", false, "asked to add trust-c, not to add evil.example"},
		{"add cited for a ban", req(list, "@ig:a", "m.room.message", "!policy trust add trust-b"), "trust-b", true, "asked to add trust-b, not to remove trust-b"},
		{"remove cited for an allow", req(list, "@ig:a", "m.room.message", "!policy trust remove evil.example"), "evil.example", false, "asked to remove"},
		{"not a command", req(list, "@ig:a", "m.room.message", "please add evil.example"), "evil.example", false, "not a `!policy trust"},
		{"extra words", req(list, "@ig:a", "m.room.message", "!policy trust add evil.example now"), "evil.example", false, "not a `!policy trust"},
		{"another command", req(list, "@ig:a", "m.room.message", "!policy leaver add evil.example"), "evil.example", false, "not a `!policy trust"},
		{"server case differs", req(list, "@ig:a", "m.room.message", "!policy trust add EVIL.example"), "evil.example", false, "asked to add EVIL.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TrustProofProblem(tt.req, list, admins, tt.entity, tt.ban)
			if tt.want == "" && got != "" {
				t.Fatalf("refused a proven request: %s", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want it to say %q", got, tt.want)
			}
		})
	}
}
