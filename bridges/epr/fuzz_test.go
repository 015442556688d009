package epr

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/nhsnumber"
)

// fhirDateTime is FHIR R4's dateTime pattern (datatypes, "dateTime"): a
// four-digit year from 0001, and a time zone whenever there is a time.
var fhirDateTime = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)

// FuzzBuild files any message — text, sender, times, IDs as a homeserver
// and the directory might give them — and checks the Communication: when
// Build takes the record, it encodes as JSON with resourceType first, names
// the same patient, sender, event and text, and writes both times as FHIR
// dateTimes of the same instants; when it refuses, it says why.
func FuzzBuild(f *testing.F) {
	r := record()
	f.Add(r.Text, r.Sender.MatrixID, r.Sender.Name, r.Sender.Registration, r.NHSNumber, r.Sent.UnixMilli(), r.RecordedAt.UnixMilli(), r.EventID, r.RoomID, "")
	f.Add("Obs stable\n<b>NEWS2 1</b>", "@asha:trust-a.nhs.uk", "", "NMC 12A3456B", "9434765919", int64(1), int64(1764513000000), "$e", "", "https://matrix.to/#/!r:x/$e")
	f.Add("x", "@asha:trust-a.nhs.uk", "Asha", "", "943-476-5919", int64(-62135596800001), int64(253402300800000), "$e", "!r:x", "")
	f.Add("x", "asha", "Asha", "GMC 1", "943 476 5919", int64(0), int64(0), "$e", "!r:x", "javascript:alert(1)")
	f.Fuzz(func(t *testing.T, text, senderID, senderName, registration, nhs string, sentMs, recordedMs int64, eventID, roomID, roomLink string) {
		rec := Record{
			NHSNumber: nhs, Text: text, EventID: eventID, RoomID: roomID, RoomLink: roomLink,
			Sender:     Person{MatrixID: senderID, Name: senderName, Registration: registration},
			Recipients: []Person{{MatrixID: "@ben:trust-a.nhs.uk", Name: "Ben Jones"}},
			RecordedBy: Person{MatrixID: "@ward7:trust-a.nhs.uk", Name: "Ward 7 clerk"},
			Sent:       time.UnixMilli(sentMs), RecordedAt: time.UnixMilli(recordedMs),
		}
		comm, err := Build(rec)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("refused without saying why")
			}
			return
		}
		raw, err := encode(comm)
		if err != nil {
			t.Fatalf("built, but does not encode: %v", err)
		}
		if !json.Valid(raw) || !bytes.HasPrefix(raw, []byte(`{"resourceType":"Communication",`)) {
			t.Fatalf("encoded as %s", raw)
		}
		var out struct {
			Identifier []struct{ Value string }
			Subject    struct{ Identifier struct{ Value string } }
			Sent       string
			Sender     struct {
				Display   string
				Extension []struct{ ValueIdentifier struct{ Value string } }
			}
			Payload []struct{ ContentString string }
			Note    []struct{ Time string }
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("encoded as %s: %v", raw, err)
		}
		if want, _ := nhsnumber.Normalize(nhs); out.Subject.Identifier.Value != want {
			t.Fatalf("patient %q filed as %q", want, out.Subject.Identifier.Value)
		}
		for what, got := range map[string]struct {
			s    string
			want time.Time
		}{"sent": {out.Sent, rec.Sent}, "recorded": {firstNoteTime(out.Note), rec.RecordedAt}} {
			at, err := time.Parse(dateTimeLayout, got.s)
			if !fhirDateTime.MatchString(got.s) || err != nil || !at.Equal(got.want) {
				t.Fatalf("%s at %v written as %q, not a FHIR dateTime of that instant (%v)", what, got.want, got.s, err)
			}
		}
		wantDisplay := senderName
		if wantDisplay == "" {
			wantDisplay = senderID
		}
		if utf8.ValidString(wantDisplay) && out.Sender.Display != wantDisplay {
			t.Fatalf("sender %q filed as %q", wantDisplay, out.Sender.Display)
		}
		if senderID != "" {
			if len(out.Sender.Extension) != 1 || out.Sender.Extension[0].ValueIdentifier.Value != id.UserID(senderID).URI().String() {
				t.Fatalf("sender %s filed with the Matrix user %+v", senderID, out.Sender.Extension)
			}
		}
		if len(out.Payload) == 0 || utf8.ValidString(text) && out.Payload[0].ContentString != text {
			t.Fatalf("text %q filed as %+v", text, out.Payload)
		}
		if len(out.Identifier) != 1 || utf8.ValidString(eventID) && out.Identifier[0].Value != eventID {
			t.Fatalf("event %q filed as %+v", eventID, out.Identifier)
		}
	})
}

func firstNoteTime(notes []struct{ Time string }) string {
	if len(notes) == 0 {
		return ""
	}
	return notes[0].Time
}
