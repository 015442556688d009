package epr_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/caldicott/caldicott/bridges/epr"
	"github.com/caldicott/caldicott/internal/testenv"
)

// These tests run against a real FHIR R4 server (Medplum's router, validating
// against the R4 StructureDefinitions), started once for all of them; each
// uses its own Matrix event ID and counts only its own records.

func message(eventID string) epr.Record {
	return epr.Record{
		NHSNumber:  "943-476-5919",
		Sender:     epr.Person{MatrixID: "@asha:trust-a.nhs.uk", Name: "Dr Asha Patel", Registration: "GMC 1234567"},
		Recipients: []epr.Person{{MatrixID: "@ben:trust-a.nhs.uk", Name: "Ben Jones", Registration: "NMC 12A3456B"}, {MatrixID: "@cat:trust-a.nhs.uk", Name: "Cat Lee"}},
		Sent:       time.Date(2026, 11, 30, 14, 5, 6, 789_000_000, time.UTC),
		Text:       "K+ 6.1 on repeat — ECG and calcium gluconate please, I'll review at 15:00",
		RecordedBy: epr.Person{MatrixID: "@ward7:trust-a.nhs.uk", Name: "Ward 7 clerk", Registration: "HCPC PA12345"},
		RecordedAt: time.Date(2026, 11, 30, 14, 30, 0, 0, time.UTC),
		RoomID:     "!ward7:trust-a.nhs.uk",
		EventID:    eventID,
	}
}

func build(t *testing.T, eventID string) fhir.Communication {
	t.Helper()
	c, err := epr.Build(message(eventID))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return c
}

// filed returns the stored Communications for a Matrix event.
func filed(t *testing.T, srv *testenv.FHIRServer, eventID string) []fhir.Communication {
	t.Helper()
	var out []fhir.Communication
	for _, c := range srv.Communications(t) {
		for _, ident := range c.Identifier {
			if deref(ident.System) == epr.SystemMatrixEvent && deref(ident.Value) == eventID {
				out = append(out, c)
			}
		}
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestRealFHIRServer(t *testing.T) {
	base, srv := testenv.StartFHIR(t)
	client := &epr.Client{BaseURL: base, Token: srv.Token}
	ctx := context.Background()

	t.Run("a built Communication is stored and reads back intact", func(t *testing.T) {
		event := "$accepted+Ev/1"
		id, err := client.Post(ctx, build(t, event))
		if err != nil {
			t.Fatalf("Post: %v\n%s", err, srv.Log())
		}
		got := srv.Communication(t, id)
		if s, v := deref(got.Subject.Identifier.System), deref(got.Subject.Identifier.Value); s != epr.SystemNHSNumber || v != "9434765919" {
			t.Errorf("subject %s|%s", s, v)
		}
		if s, v := deref(got.Sender.Identifier.System), deref(got.Sender.Identifier.Value); s != epr.SystemGMC || v != "1234567" {
			t.Errorf("sender %s|%s", s, v)
		}
		if got.Payload[0].ContentString != message(event).Text {
			t.Errorf("text %q", got.Payload[0].ContentString)
		}
		if got.Status != fhir.EventStatusCompleted || deref(got.Sent) != "2026-11-30T14:05:06.789Z" {
			t.Errorf("status %s, sent %s", got.Status.Code(), deref(got.Sent))
		}
		if len(got.Recipient) != 2 || deref(got.Recipient[1].Identifier.Value) != "matrix:u/cat:trust-a.nhs.uk" {
			t.Errorf("recipients %+v", got.Recipient)
		}
		if len(got.Payload) != 2 || !strings.HasPrefix(deref(got.Payload[1].ContentAttachment.Url), "https://matrix.to/#/") {
			t.Errorf("link back %+v", got.Payload)
		}
		if n := got.Note[0]; deref(n.AuthorReference.Identifier.System) != epr.SystemHCPC || deref(n.Time) != "2026-11-30T14:30:00.000Z" {
			t.Errorf("recorded by %+v", n)
		}
	})

	t.Run("an invalid resource is rejected with the server's reason", func(t *testing.T) {
		event := "$rejected"
		comm := build(t, event)
		bad := "30/11/2026 14:05"
		comm.Sent = &bad
		_, err := client.Post(ctx, comm)
		var rej *epr.Rejected
		if !errors.As(err, &rej) || rej.Status != 400 {
			t.Fatalf("Post error %v: want *Rejected with status 400", err)
		}
		if !strings.Contains(rej.Reason, "dateTime") || !strings.Contains(rej.Reason, "Communication.sent") {
			t.Errorf("reason %q does not say what is wrong", rej.Reason)
		}
		if epr.IsTransient(err) {
			t.Error("a rejection reported as transient")
		}
		if n := len(filed(t, srv, event)); n != 0 {
			t.Errorf("%d stored", n)
		}
	})

	t.Run("a wrong token is refused", func(t *testing.T) {
		_, err := (&epr.Client{BaseURL: base, Token: "wrong"}).Post(ctx, build(t, "$wrong-token"))
		var rej *epr.Rejected
		if !errors.As(err, &rej) || rej.Status != 401 {
			t.Fatalf("Post error %v: want *Rejected with status 401", err)
		}
	})

	t.Run("down: transient, then filed once when up", func(t *testing.T) {
		event := "$while-down"
		comm := build(t, event)
		srv.Down(t)
		_, err := client.Post(ctx, comm)
		srv.Up(t)
		if !epr.IsTransient(err) || !strings.Contains(err.Error(), "503") {
			t.Fatalf("Post while down: %v, want a transient 503", err)
		}
		if _, err := client.Post(ctx, comm); err != nil {
			t.Fatalf("Post after up: %v", err)
		}
		if n := len(filed(t, srv, event)); n != 1 {
			t.Errorf("%d stored, want 1", n)
		}
	})

	t.Run("a repost of the same event finds the first", func(t *testing.T) {
		event := "$reposted"
		first, err := client.Post(ctx, build(t, event))
		if err != nil {
			t.Fatal(err)
		}
		second, err := client.Post(ctx, build(t, event))
		if err != nil {
			t.Fatal(err)
		}
		if first != second {
			t.Errorf("repost got id %s, first %s", second, first)
		}
		if n := len(filed(t, srv, event)); n != 1 {
			t.Errorf("%d stored, want 1", n)
		}
	})

	t.Run("a retry after a lost response files nothing twice", func(t *testing.T) {
		event := "$lost+response/1"
		comm := build(t, event)
		srv.LoseNextResponse(t)
		_, err := client.Post(ctx, comm)
		if !epr.IsTransient(err) {
			t.Fatalf("Post with its response lost: %v, want a transient error", err)
		}
		stored := filed(t, srv, event)
		if len(stored) != 1 {
			t.Fatalf("%d stored by the lost attempt, want 1", len(stored))
		}
		id, err := client.Post(ctx, comm)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if id != deref(stored[0].Id) {
			t.Errorf("retry got id %s, the lost attempt stored %s", id, deref(stored[0].Id))
		}
		if n := len(filed(t, srv, event)); n != 1 {
			t.Errorf("%d stored after the retry, want 1", n)
		}
	})
}
