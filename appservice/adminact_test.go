package appservice

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"
)

// TestAdminActRefusals: the insider rule an act meets before the
// command's own rules: done as a person who is one of the trust's IG
// admins now, in a room created on the trust's own server; any other is
// refused with the reason.
func TestAdminActRefusals(t *testing.T) {
	const own = "trust-a.example"
	people := []struct {
		name    string
		person  id.UserID
		igAdmin bool
		want    string
	}{
		{"an IG admin", "@ig:trust-a.example", true, ""},
		{"a token made for no one", "", false, "made for no one"},
		{"someone not an IG admin", "@nurse:trust-a.example", false, "@nurse:trust-a.example is not one of this trust's IG admins now"},
	}
	for _, c := range people {
		got := personRefusal(c.person, c.igAdmin)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) || (got != "" && !strings.HasSuffix(got, "Nothing was done.")) {
			t.Errorf("%s: %q; want %q", c.name, got, c.want)
		}
	}
	rooms := []struct {
		name, creator, want string
	}{
		{"this trust's room", "@carol:trust-a.example", ""},
		{"another trust's room", "@dr.b:trust-b.example", "created by another trust (trust-b.example), not on this trust's server (trust-a.example)"},
		{"a server whose name ends like ours", "@x:evil-trust-a.example", "created by another trust (evil-trust-a.example)"},
		{"a room whose creator is unknown", "", "created by another trust (its creator is unknown)"},
	}
	for _, c := range rooms {
		got := roomRefusal("!r:"+own, c.creator, own)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q; want %q", c.name, got, c.want)
		}
	}
}
