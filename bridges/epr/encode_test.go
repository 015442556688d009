package epr

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

func TestEncodeLeavesOutEmptyChoices(t *testing.T) {
	c, err := Build(record())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"contentReference":{}`) {
		t.Fatalf("the model no longer writes empty choice alternatives; encode may be unneeded: %s", raw)
	}
	data, err := encode(c)
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	for _, bad := range []string{`{}`, `""`, `[]`, `null`, `"contentReference"`, `\u003c`} {
		if strings.Contains(got, bad) {
			t.Errorf("encoded resource holds %s: %s", bad, got)
		}
	}
	if !strings.HasPrefix(got, `{"resourceType":"Communication",`) {
		t.Errorf("resourceType is not first: %s", got)
	}
	if strings.Count(got, `"contentString"`) != 1 || strings.Count(got, `"contentAttachment"`) != 1 {
		t.Errorf("each payload should hold one content alternative: %s", got)
	}
	if !strings.Contains(got, `"K+ 6.1 <repeat> & ECG please"`) {
		t.Errorf("text changed: %s", got)
	}
	// What was left out is exactly what was empty: the model reads it back whole.
	back, err := fhir.UnmarshalCommunication(data)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(raw) {
		t.Errorf("round trip changed the resource:\n%s\n%s", raw, again)
	}
}

func TestEncodeKeepsValues(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":0,"b":false,"c":"x"}`, `{"a":0,"b":false,"c":"x"}`},
		{`{"a":{"b":{"c":""}},"d":[{},{"e":1.50}]}`, `{"d":[{"e":1.50}]}`},
		{`{"z":1,"resourceType":"X"}`, `{"resourceType":"X","z":1}`},
		{`{"a":[null,""]}`, ``},
	}
	for _, tt := range tests {
		got, err := encode(json.RawMessage(tt.in))
		if err != nil {
			t.Fatalf("encode(%s): %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("encode(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
