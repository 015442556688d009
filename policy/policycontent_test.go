package policy

import (
	"encoding/json"
	"reflect"
	"testing"
)

// everyPolicyField is a PolicyContent with every field set, found by
// reflection: a field added to the struct is filled here without anyone
// listing it, so the tests below check it too.
func everyPolicyField(t *testing.T) PolicyContent {
	t.Helper()
	var c PolicyContent
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			f.SetString("value of " + name)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			f.Set(reflect.ValueOf([]string{"first of " + name, "second of " + name}).Convert(f.Type()))
		default:
			t.Fatalf("PolicyContent.%s is a %s: teach everyPolicyField to fill it", name, f.Type())
		}
	}
	return c
}

// factsWith are the facts of a room whose policy event holds p, as
// appservice/facts reads them.
func factsWith(roomID string, p PolicyContent) RoomFacts {
	return RoomFacts{RoomID: roomID, Class: p.Class, Policy: p}
}

// The event the bot writes is the struct's JSON encoding, every field a
// key of its own, and reads back as the same content: the JSON tags are the
// only list of the event's keys.
func TestPolicyContentMapKeepsEveryField(t *testing.T) {
	c := everyPolicyField(t)
	m := c.Map()
	if len(m) != reflect.TypeFor[PolicyContent]().NumField() {
		t.Errorf("Map() has %d keys for %d fields: %v", len(m), reflect.TypeFor[PolicyContent]().NumField(), m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back PolicyContent
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("Map() reads back as %+v; want %+v", back, c)
	}
	if got := SetRoomPolicy(c, RuleRoomOption, "x", "y").Actions[0].Content; !reflect.DeepEqual(got, m) {
		t.Errorf("SetRoomPolicy writes %v; want %v", got, m)
	}
	if got := (PolicyContent{}).Map(); !reflect.DeepEqual(got, map[string]any{"class": ""}) {
		t.Errorf("empty content = %v; want the class alone (every other key omitted when empty)", got)
	}
}

// A room's replacement whose policy differs from the old room's in any one
// key has the old room's set back, whole; one that matches is left alone.
func TestCarryOverStateSeesEveryKey(t *testing.T) {
	want := everyPolicyField(t)
	old := factsWith("!old:a", want)
	if d := CarryOverState(old, factsWith("!new:a", want)); len(d.Actions) != 0 {
		t.Fatalf("same policy, yet %+v", d.Actions)
	}
	v := reflect.ValueOf(want)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		t.Run(name, func(t *testing.T) {
			changed := want
			reflect.ValueOf(&changed).Elem().Field(i).SetZero()
			d := CarryOverState(old, factsWith("!new:a", changed))
			if len(d.Actions) != 1 || d.Actions[0].EventType != PolicyEventType {
				t.Fatalf("%s dropped in the new room, yet actions = %+v", name, d.Actions)
			}
			if got := d.Actions[0].Content; !reflect.DeepEqual(got, want.Map()) {
				t.Errorf("set back to %v; want %v", got, want.Map())
			}
		})
	}
}

// A rewrite keeps the room's policy and changes only the class.
func TestRoomFactsPolicyContent(t *testing.T) {
	p := everyPolicyField(t)
	got := factsWith("!r:a", p).PolicyContent(Social)
	want := p
	want.Class = Social
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PolicyContent(social) = %+v; want %+v", got, want)
	}
}
