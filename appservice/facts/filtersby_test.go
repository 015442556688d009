package facts

import (
	"encoding/json"
	"testing"

	"github.com/caldicott/caldicott/policy"
)

// Who set a room's role and team filters: a Caldicott bot's word is taken
// (it writes the event for whoever typed the command); anyone else who
// writes the event set the filters themselves, whatever the content claims.
func TestFiltersBy(t *testing.T) {
	bots := func(u string) bool { return u == "@caldicott:a" || u == "@caldicott:b" }
	tests := []struct {
		name, sender, content, want string
	}{
		{"our bot names the moderator", "@caldicott:a", `{"class":"clinical","allowed_roles":["Consultant"],"filters_set_by":"@mod:a"}`, "@mod:a"},
		{"another trust's bot names its caller", "@caldicott:b", `{"class":"clinical","allowed_teams":["Renal"],"filters_set_by":"@mod:b"}`, "@mod:b"},
		{"another trust's bot naming our IG admin: unknown", "@caldicott:b", `{"class":"clinical","allowed_roles":["x"],"filters_set_by":"@ig:a"}`, ""},
		{"a bot's event from before setters were named: unknown", "@caldicott:a", `{"class":"clinical","allowed_roles":["Consultant"]}`, ""},
		{"written directly by a moderator claiming an IG admin set it", "@mod:a", `{"class":"clinical","allowed_roles":["Consultant"],"filters_set_by":"@ig:a"}`, "@mod:a"},
		{"written directly by the room admin", "@admin:a", `{"class":"clinical","allowed_roles":["Consultant"]}`, "@admin:a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := roomState{
				content: map[string]json.RawMessage{
					"m.room.create":        json.RawMessage(`{"room_version":"10","creator":"@admin:a"}`),
					policy.PolicyEventType: json.RawMessage(tt.content),
				},
				sender: map[string]string{"m.room.create": "@admin:a", policy.PolicyEventType: tt.sender},
			}
			f, err := factsFromState("!r:a", st, bots)
			if err != nil {
				t.Fatal(err)
			}
			if f.Policy.FiltersBy != tt.want {
				t.Errorf("Policy.FiltersBy = %q; want %q", f.Policy.FiltersBy, tt.want)
			}
			// Written back by the bot (a downgrade set back, say), the
			// setter found is the one named.
			if got := f.PolicyContent(f.Class).FiltersBy; got != tt.want {
				t.Errorf("PolicyContent keeps %q; want %q", got, tt.want)
			}
		})
	}
}
