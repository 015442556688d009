package epr

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/nhsnumber"
)

// ErrIncomplete is wrapped by Build's errors for a record missing something
// the patient record must have; the message says what.
var ErrIncomplete = errors.New("record incomplete")

// dateTimeLayout writes a FHIR dateTime to the millisecond, the precision of
// Matrix timestamps, in UTC so that records from different servers compare.
const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// roomLinkTitle labels the link back to the conversation in the EPR.
const roomLinkTitle = "Conversation in Matrix"

// Build makes the Communication that files r in the patient's record:
//
//   - subject: the patient, by NHS number (refused unless valid);
//   - sender and recipient: practitioners by registration (see reference);
//   - sent, and payload[0]: when and what was written;
//   - payload[1]: a link back to the message in Matrix, as an attachment
//     URL — a viewer follows it, whereas an identifier is for matching;
//   - note: who filed it and when, as the note's author and time;
//   - identifier: the Matrix event ID, so a repost is recognised.
func Build(r Record) (fhir.Communication, error) {
	var c fhir.Communication
	switch {
	case r.Text == "":
		return c, fmt.Errorf("%w: no message text", ErrIncomplete)
	case r.EventID == "":
		return c, fmt.Errorf("%w: no Matrix event ID, so a repost could not be recognised", ErrIncomplete)
	case r.Sent.IsZero():
		return c, fmt.Errorf("%w: no time sent", ErrIncomplete)
	case r.RecordedAt.IsZero():
		return c, fmt.Errorf("%w: no time recorded", ErrIncomplete)
	}
	for _, t := range []struct {
		what string
		at   time.Time
	}{{"sent", r.Sent}, {"recorded", r.RecordedAt}} {
		if !fhirYear(t.at) {
			return c, fmt.Errorf("the time %s is in the year %d, which a patient record cannot hold (FHIR dates run from year 1 to 9999)", t.what, t.at.UTC().Year())
		}
	}
	nhs, err := nhsnumber.Normalize(r.NHSNumber)
	if err != nil {
		return c, fmt.Errorf("patient NHS number: %w", err)
	}
	sender, err := r.Sender.reference("sender")
	if err != nil {
		return c, err
	}
	recorder, err := r.RecordedBy.reference("recorded by")
	if err != nil {
		return c, err
	}
	recipients := make([]fhir.Reference, 0, len(r.Recipients))
	for i, p := range r.Recipients {
		ref, err := p.reference(fmt.Sprintf("recipient %d", i+1))
		if err != nil {
			return c, err
		}
		recipients = append(recipients, *ref)
	}
	link, err := roomLink(r)
	if err != nil {
		return c, err
	}

	c = fhir.Communication{
		Identifier: []fhir.Identifier{{System: ptr(SystemMatrixEvent), Value: ptr(r.EventID)}},
		Status:     fhir.EventStatusCompleted,
		Subject: &fhir.Reference{
			Type:       ptr("Patient"),
			Identifier: &fhir.Identifier{System: ptr(SystemNHSNumber), Value: ptr(nhs)},
		},
		Sent:      ptr(r.Sent.UTC().Format(dateTimeLayout)),
		Sender:    sender,
		Recipient: recipients,
		Payload:   []fhir.CommunicationPayload{{ContentString: r.Text}},
		Note: []fhir.Annotation{{
			AuthorReference: recorder,
			Time:            ptr(r.RecordedAt.UTC().Format(dateTimeLayout)),
			Text:            fmt.Sprintf("Filed to the patient record from a Matrix conversation by %s.", *recorder.Display),
		}},
	}
	if link != "" {
		c.Payload = append(c.Payload, fhir.CommunicationPayload{
			ContentAttachment: fhir.Attachment{Url: ptr(link), Title: ptr(roomLinkTitle)},
		})
	}
	return c, nil
}

// fhirYear reports whether t, in UTC, falls in a year a FHIR dateTime can
// write: four digits, from 0001. A homeserver sets a message's time as it
// likes, so a far-off one must be refused, not written as "10000-01-01…".
func fhirYear(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// roomLink returns r.RoomLink, or one made from the room and event IDs, or
// "" when there is neither.
func roomLink(r Record) (string, error) {
	if r.RoomLink == "" {
		if r.RoomID == "" {
			return "", nil
		}
		return MatrixToLink(r.RoomID, r.EventID), nil
	}
	u, err := url.Parse(r.RoomLink)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("room link is not an https URL")
	}
	return r.RoomLink, nil
}

// MatrixToLink returns the https://matrix.to/#/<room>/<event> link to a
// message, which opens in any Matrix client or a browser.
func MatrixToLink(roomID, eventID string) string {
	return id.RoomID(roomID).EventURI(id.EventID(eventID)).MatrixToURL()
}
