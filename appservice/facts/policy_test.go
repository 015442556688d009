package facts

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/caldicott/caldicott/policy"
)

// roomWithPolicy is a room's state holding one policy event.
func roomWithPolicy(content, sender string) roomState {
	return roomState{
		content: map[string]json.RawMessage{
			"m.room.create":        json.RawMessage(`{"room_version":"10","creator":"@admin:a"}`),
			policy.PolicyEventType: json.RawMessage(content),
		},
		sender: map[string]string{"m.room.create": "@admin:a", policy.PolicyEventType: sender},
	}
}

func isOurBot(u string) bool { return u == "@caldicott:a" }

// Every key of a policy event our bot wrote is read into RoomFacts.Policy
// and written back as it was: the struct is filled by reflection, so a
// field added to PolicyContent is checked without being listed here.
func TestStoredPolicyWrittenBackWhole(t *testing.T) {
	var stored policy.PolicyContent
	v := reflect.ValueOf(&stored).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			f.SetString("value of " + name)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.ValueOf([]string{"first of " + name, "second of " + name}).Convert(f.Type()))
		default:
			t.Fatalf("PolicyContent.%s is a %s: teach this test to fill it", name, f.Type())
		}
	}
	// The two fields the facts judge, given values they accept.
	stored.Class, stored.FiltersBy = policy.Clinical, "@mod:a"
	raw, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	f, err := factsFromState("!r:a", roomWithPolicy(string(raw), "@caldicott:a"), isOurBot)
	if err != nil {
		t.Fatal(err)
	}
	want := stored
	want.ClassifiedBy = "" // the store's record, not carried (see factsFromState)
	if f.Class != policy.Clinical || !reflect.DeepEqual(f.Policy, want) {
		t.Errorf("read class %q, policy %+v; want clinical, %+v", f.Class, f.Policy, want)
	}
	if got := f.PolicyContent(f.Class).Map(); !reflect.DeepEqual(got, want.Map()) {
		t.Errorf("written back as %v; want %v", got, want.Map())
	}
}

// How a stored policy event reads and what the bot writes back from it
// (an option set, a downgrade set back): unknown keys and the classifier's
// name are not carried, an unknown class reads as none while the options
// still count, an unreadable event as no policy at all.
func TestStoredPolicyRead(t *testing.T) {
	tests := []struct {
		name, sender, content string
		class                 policy.Class
		writeBack             string
	}{
		{"options and setter kept", "@caldicott:a", `{"class":"clinical","allowed_roles":["Consultant"],"allowed_teams":["Renal"],"auto_approve":"directory","suspend":"mute","filters_set_by":"@mod:a"}`,
			policy.Clinical, `{"class":"clinical","allowed_roles":["Consultant"],"allowed_teams":["Renal"],"auto_approve":"directory","suspend":"mute","filters_set_by":"@mod:a"}`},
		{"unknown keys dropped", "@admin:a", `{"class":"clinical","allowed_roles":["Consultant"],"colour":"blue"}`,
			policy.Clinical, `{"class":"clinical","allowed_roles":["Consultant"],"filters_set_by":"@admin:a"}`},
		{"classifier's name left to the store", "@caldicott:a", `{"class":"clinical","classified_by":"@ig:a"}`,
			policy.Clinical, `{"class":"clinical"}`},
		{"class read as typed", "@admin:a", `{"class":" Clinical "}`,
			policy.Clinical, `{"class":"clinical","filters_set_by":"@admin:a"}`},
		{"unknown class: none, options kept", "@admin:a", `{"class":"secret","auto_approve":"directory"}`,
			policy.Unclassified, `{"class":"","auto_approve":"directory","filters_set_by":"@admin:a"}`},
		{"another trust's bot naming our IG admin: setter unknown", "@caldicott:b", `{"class":"clinical","allowed_roles":["x"],"filters_set_by":"@ig:a"}`,
			policy.Clinical, `{"class":"clinical","allowed_roles":["x"]}`},
		{"unreadable: no policy", "@admin:a", `{"class":"clinical","allowed_roles":"Consultant"}`,
			policy.Unclassified, `{"class":""}`},
	}
	bots := func(u string) bool { return u == "@caldicott:a" || u == "@caldicott:b" }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := factsFromState("!r:a", roomWithPolicy(tt.content, tt.sender), bots)
			if err != nil {
				t.Fatal(err)
			}
			if f.Class != tt.class || f.Policy.Class != tt.class {
				t.Errorf("class %q, policy's class %q; want %q", f.Class, f.Policy.Class, tt.class)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tt.writeBack), &want); err != nil {
				t.Fatal(err)
			}
			if got := f.PolicyContent(f.Class).Map(); !reflect.DeepEqual(got, want) {
				t.Errorf("written back as %v; want %v", got, want)
			}
		})
	}
}
