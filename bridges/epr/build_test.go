package epr

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/caldicott/caldicott/nhsnumber"
)

var (
	sent     = time.Date(2026, 11, 30, 14, 5, 6, 789_000_000, time.FixedZone("BST", 3600))
	recorded = time.Date(2026, 11, 30, 14, 30, 0, 0, time.UTC)
)

func record() Record {
	return Record{
		NHSNumber:  "943 476 5919",
		Sender:     Person{MatrixID: "@asha:trust-a.nhs.uk", Name: "Dr Asha Patel", Registration: "GMC 1234567"},
		Recipients: []Person{{MatrixID: "@ben:trust-a.nhs.uk", Name: "Ben Jones", Registration: "NMC 12A3456B"}},
		Sent:       sent,
		Text:       "K+ 6.1 <repeat> & ECG please",
		RecordedBy: Person{MatrixID: "@ward7:trust-a.nhs.uk", Name: "Ward 7 clerk"},
		RecordedAt: recorded,
		RoomID:     "!abc:trust-a.nhs.uk",
		EventID:    "$Ev3nt+id/with=base64",
	}
}

func TestBuildRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Record)
		is     error
		says   string
	}{
		{"no text", func(r *Record) { r.Text = "" }, ErrIncomplete, "no message text"},
		{"no sender", func(r *Record) { r.Sender = Person{} }, ErrIncomplete, "sender has neither"},
		{"no event ID", func(r *Record) { r.EventID = "" }, ErrIncomplete, "Matrix event ID"},
		{"no time sent", func(r *Record) { r.Sent = time.Time{} }, ErrIncomplete, "no time sent"},
		{"no time recorded", func(r *Record) { r.RecordedAt = time.Time{} }, ErrIncomplete, "no time recorded"},
		{"no recorder", func(r *Record) { r.RecordedBy = Person{} }, ErrIncomplete, "recorded by has neither"},
		{"empty recipient", func(r *Record) { r.Recipients = append(r.Recipients, Person{}) }, ErrIncomplete, "recipient 2"},
		{"no NHS number", func(r *Record) { r.NHSNumber = "" }, nhsnumber.ErrLength, "patient NHS number"},
		{"bad check digit", func(r *Record) { r.NHSNumber = "9434765918" }, nhsnumber.ErrCheckDigit, "patient NHS number"},
		{"bad sender Matrix ID", func(r *Record) { r.Sender.MatrixID = "asha" }, nil, "sender: not a valid Matrix user ID"},
		// Found by FuzzBuild: a homeserver's far-off timestamp was
		// written as a date no FHIR server reads ("0000-12-31…", "10000-…").
		{"sent before year 1", func(r *Record) { r.Sent = time.UnixMilli(-62135596800001) }, nil, "time sent is in the year 0"},
		{"recorded after 9999", func(r *Record) { r.RecordedAt = time.UnixMilli(253402300800000) }, nil, "time recorded is in the year 10000"},
		{"room link not https", func(r *Record) { r.RoomLink = "javascript:alert(1)" }, nil, "room link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record()
			tt.change(&r)
			_, err := Build(r)
			if err == nil {
				t.Fatal("Build accepted the record")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), "943") || strings.Contains(err.Error(), "K+ 6.1") {
				t.Errorf("error %q carries patient data", err)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	ident := func(i *fhir.Identifier) string {
		if i == nil {
			return "<none>"
		}
		return str(i.System) + "|" + str(i.Value)
	}
	tests := []struct {
		name   string
		change func(*Record)
		got    func(fhir.Communication) string
		want   string
	}{
		{"status", nil, func(c fhir.Communication) string { return c.Status.Code() }, "completed"},
		{"subject by normalized NHS number", nil, func(c fhir.Communication) string { return str(c.Subject.Type) + " " + ident(c.Subject.Identifier) },
			"Patient https://fhir.nhs.uk/Id/nhs-number|9434765919"},
		{"sent in UTC to the millisecond", nil, func(c fhir.Communication) string { return str(c.Sent) }, "2026-11-30T13:05:06.789Z"},
		{"text", nil, func(c fhir.Communication) string { return c.Payload[0].ContentString }, "K+ 6.1 <repeat> & ECG please"},
		{"event identifier", nil, func(c fhir.Communication) string { return ident(&c.Identifier[0]) }, "urn:caldicott:matrix-event|$Ev3nt+id/with=base64"},
		{"sender by GMC number", nil, func(c fhir.Communication) string { return ident(c.Sender.Identifier) + " " + str(c.Sender.Display) },
			"https://fhir.hl7.org.uk/Id/gmc-number|1234567 Dr Asha Patel"},
		{"sender's Matrix user in the extension", nil, func(c fhir.Communication) string {
			e := c.Sender.Extension[0]
			return e.Url + " " + ident(e.ValueIdentifier)
		}, "urn:caldicott:matrix-user urn:ietf:rfc:3986|matrix:u/asha:trust-a.nhs.uk"},
		{"recipient by NMC PIN", nil, func(c fhir.Communication) string { return ident(c.Recipient[0].Identifier) },
			"https://fhir.hl7.org.uk/Id/nmc-number|12A3456B"},
		{"HCPC number", func(r *Record) { r.Sender.Registration = "HCPC PA12345" }, func(c fhir.Communication) string { return ident(c.Sender.Identifier) },
			"https://fhir.hl7.org.uk/Id/hcpc-number|PA12345"},
		{"no registration: Matrix user", func(r *Record) { r.Sender.Registration = "" }, func(c fhir.Communication) string { return ident(c.Sender.Identifier) },
			"urn:ietf:rfc:3986|matrix:u/asha:trust-a.nhs.uk"},
		{"unknown register: Matrix user", func(r *Record) { r.Sender.Registration = "GPhC 2012345" }, func(c fhir.Communication) string { return ident(c.Sender.Identifier) },
			"urn:ietf:rfc:3986|matrix:u/asha:trust-a.nhs.uk"},
		{"malformed GMC number: not claimed", func(r *Record) { r.Sender.Registration = "GMC 123" }, func(c fhir.Communication) string { return ident(c.Sender.Identifier) },
			"urn:ietf:rfc:3986|matrix:u/asha:trust-a.nhs.uk"},
		{"name only", func(r *Record) { r.Sender = Person{Name: "Locum SHO"} }, func(c fhir.Communication) string {
			return ident(c.Sender.Identifier) + " " + str(c.Sender.Display) + " " + strconv.Itoa(len(c.Sender.Extension))
		}, "<none> Locum SHO 0"},
		{"Matrix ID only: shown as display", func(r *Record) { r.Sender = Person{MatrixID: "@x:y.org"} }, func(c fhir.Communication) string { return str(c.Sender.Display) }, "@x:y.org"},
		{"no recipients", func(r *Record) { r.Recipients = nil }, func(c fhir.Communication) string { return strconv.Itoa(len(c.Recipient)) }, "0"},
		{"recorded by and when", nil, func(c fhir.Communication) string {
			n := c.Note[0]
			return str(n.AuthorReference.Display) + " " + str(n.Time) + " " + n.Text
		}, "Ward 7 clerk 2026-11-30T14:30:00.000Z Filed to the patient record from a Matrix conversation by Ward 7 clerk."},
		{"link made from room and event", nil, func(c fhir.Communication) string {
			a := c.Payload[1].ContentAttachment
			return str(a.Title) + " " + str(a.Url)
		}, "Conversation in Matrix https://matrix.to/#/%21abc:trust-a.nhs.uk/$Ev3nt+id%2Fwith=base64"},
		{"link given", func(r *Record) { r.RoomLink = "https://matrix.to/#/!r:x.org/$e" }, func(c fhir.Communication) string { return str(c.Payload[1].ContentAttachment.Url) },
			"https://matrix.to/#/!r:x.org/$e"},
		{"no room: no link", func(r *Record) { r.RoomID = "" }, func(c fhir.Communication) string { return strconv.Itoa(len(c.Payload)) }, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record()
			if tt.change != nil {
				tt.change(&r)
			}
			c, err := Build(r)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got := tt.got(c); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
