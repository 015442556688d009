package subjectaccess

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"
)

func TestMentionsUser(t *testing.T) {
	const bob = id.UserID("@bob:127.0.0.11:8448")
	tests := []struct {
		text string
		want bool
	}{
		{"ask @bob:127.0.0.11:8448 please", true},
		{"@bob:127.0.0.11:8448", true},
		{"ask @bob:127.0.0.11:8448.", true},
		{"ask @bob:127.0.0.11:8448: now", true},
		{`<a href="https://matrix.to/#/@bob:127.0.0.11:8448">Bob</a>`, true},
		{`<a href="https://matrix.to/#/%40bob:127.0.0.11:8448">Bob</a>`, true},
		{"@bob:127.0.0.11:84489 is someone else", false},
		{"@bob:127.0.0.11:8448.example is someone else", false},
		{"@bobby:127.0.0.11:8448", false},
		{"bob", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := mentionsUser(tt.text, bob); got != tt.want {
			t.Errorf("mentionsUser(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestMatchMessage(t *testing.T) {
	const bob = id.UserID("@bob:a.nhs.uk")
	tests := []struct {
		name    string
		sender  id.UserID
		content string
		want    []string
	}{
		{"sent by them", bob, `{"msgtype":"m.text","body":"hello"}`, []string{MatchSender}},
		{"mentioned", "@alice:a.nhs.uk", `{"body":"Bob, see","m.mentions":{"user_ids":["@bob:a.nhs.uk"]}}`, []string{MatchMention}},
		{"named in the text", "@alice:a.nhs.uk", `{"body":"ask @bob:a.nhs.uk"}`, []string{MatchText}},
		{"a pill", "@alice:a.nhs.uk", `{"body":"Bob: see","m.mentions":{"user_ids":["@bob:a.nhs.uk"]},"formatted_body":"<a href=\"https://matrix.to/#/@bob:a.nhs.uk\">Bob</a>: see"}`, []string{MatchMention, MatchText}},
		{"an edit naming them", "@alice:a.nhs.uk", `{"body":"* fixed","m.new_content":{"body":"ask @bob:a.nhs.uk"}}`, []string{MatchContent}},
		{"someone else", "@alice:a.nhs.uk", `{"body":"ask @bobby:a.nhs.uk"}`, nil},
		{"redacted, by them", bob, ``, []string{MatchSender}},
		{"redacted, not theirs", "@alice:a.nhs.uk", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchMessage(bob, tt.sender, json.RawMessage(tt.content)); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest("@bob:a.nhs.uk", "2026-01-01", "2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	if r.From.Format("2006-01-02T15:04:05Z07:00") != "2026-01-01T00:00:00Z" || r.Until.Format("2006-01-02T15:04:05Z07:00") != "2027-01-01T00:00:00Z" {
		t.Errorf("range %s – %s", r.From, r.Until)
	}
	if !r.contains(r.From.UnixMilli()) || r.contains(r.Until.UnixMilli()) || !r.contains(r.Until.UnixMilli()-1) {
		t.Error("the range must include since and the whole of until's day")
	}
	r, err = ParseRequest("@bob:a.nhs.uk", "2026-03-01T09:00:00Z", "2026-03-01T09:00:00Z")
	if err != nil || !r.contains(r.From.UnixMilli()) {
		t.Errorf("a single instant, both ends included: %v", err)
	}
	bad := []struct{ user, since, until, want string }{
		{"", "2026-01-01", "2026-01-02", "user is required"},
		{"bob", "2026-01-01", "2026-01-02", `user "bob" is not a Matrix user ID`},
		{"@bob", "2026-01-01", "2026-01-02", `user "@bob" is not a Matrix user ID`},
		{"@bob:a.nhs.uk", "", "2026-01-02", "since is required"},
		{"@bob:a.nhs.uk", "2026-01-01", "", "until is required"},
		{"@bob:a.nhs.uk", "last tuesday", "2026-01-02", `since "last tuesday" is not a date`},
		{"@bob:a.nhs.uk", "2026-01-01", "2026-13-01", `until "2026-13-01" is not a date`},
		{"@bob:a.nhs.uk", "2026-12-31", "2026-01-01", "since 2026-12-31 is after until 2026-01-01"},
	}
	for _, b := range bad {
		if _, err := ParseRequest(b.user, b.since, b.until); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseRequest(%q, %q, %q) = %v, want %q", b.user, b.since, b.until, err, b.want)
		}
	}
}
