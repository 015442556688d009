// Package compliancetest seeds a store with a small trust whose every kind
// of fact the compliance model reads is present, with an NHS number planted
// wherever people or other systems write free text, so that tests of the
// model, the pages and the API can show that none of it comes out. Test-only.
package compliancetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// NHSNumber is a valid NHS number (modulus 11), planted in free text; the
// spaced form is how people write it.
const (
	NHSNumber       = "9434765919"
	NHSNumberSpaced = "943 476 5919"
)

// The seeded trust's rooms and people.
const (
	Domain     = "a.test"
	Bot        = "@caldicott:a.test"
	ClinicalOK = "!clinok:a.test"
	// ClinicalBad is clinical, not compliant, on legal hold, its review overdue.
	ClinicalBad = "!clinbad:a.test"
	Social      = "!social:a.test"
	Alice       = "@alice:a.test" // verified
	Bob         = "@bob:a.test"   // an unsigned device, within grace
	Carol       = "@carol:a.test" // suspended in the directory
	Dave        = "@dave:a.test"  // left; suspended for verification; held
	Eve         = "@eve:b.test"   // another trust's
	Frank       = "@frank:a.test" // in the directory only
)

// Now is the seeded store's clock.
var Now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// Config is the seeded trust's configuration.
func Config(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
homeserver: {address: "http://127.0.0.1:1", domain: "a.test"}
appservice: {address: "http://127.0.0.1:2", as_token: "` + strings.Repeat("a", 64) + `", hs_token: "` + strings.Repeat("b", 64) + `", encryption: disabled}
trust: {name: "Trust A"}
federation: {servers: ["b.test"]}
records: {fhir_base_url: "http://127.0.0.1:3/fhir"}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// at sets the store's clock, for the next write.
func at(st *store.Store, t time.Time) { st.SetClock(func() time.Time { return t }) }

// Seed writes the trust into st and leaves its clock at Now.
func Seed(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	day := 24 * time.Hour
	at(st, Now.Add(-100*day))
	steps := []func(context.Context, *store.Store) error{seedStaff, seedRooms, seedReviews}
	for _, step := range steps {
		if err := step(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	at(st, Now.Add(-2*day))
	for _, step := range []func(context.Context, *store.Store) error{seedPeople, seedRetention, seedRecords, seedFederation, seedAudit} {
		if err := step(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	at(st, Now)
}

func seedStaff(ctx context.Context, st *store.Store) error {
	rec := func(uid, name, status string) store.StaffRecord {
		return store.StaffRecord{UserID: uid, Name: name, Role: "Nurse", Team: "Ward 1", Status: status, Source: "csv"}
	}
	_, err := st.SaveStaff(ctx, []store.StaffRecord{
		rec(Alice, "Alice Smith", "active"), rec(Bob, "Bob Jones", "active"), rec(Carol, "Carol Brown", "suspended"),
		rec(Dave, "Dave Green", "left"), rec(Frank, "Frank White", "active"),
	}, store.DirectoryAuthor{Actor: "csv:staff.csv", Via: "test import"})
	return err
}

func seedRooms(ctx context.Context, st *store.Store) error {
	rooms := []store.RoomPolicy{
		{RoomID: ClinicalOK, Class: "clinical", Compliant: true, ClassifiedBy: Alice},
		{RoomID: ClinicalBad, Class: "clinical", Compliant: false, Problems: []string{"Encryption is off.", "Guests may join."}, ClassifiedBy: Alice},
		{RoomID: Social, Class: "social", Compliant: true, ClassifiedBy: Bob},
	}
	for _, r := range rooms {
		if err := st.SaveRoomPolicy(ctx, r); err != nil {
			return err
		}
	}
	members := map[string]store.Members{
		ClinicalOK:  {Bot: "Caldicott", Alice: "Alice", Bob: "Bob (pt " + NHSNumberSpaced + ")", Eve: "Eve"},
		ClinicalBad: {Bot: "Caldicott", Carol: "Carol", Dave: "Dave"},
		Social:      {Alice: "Alice", Bob: "Bob"},
	}
	for room, m := range members {
		if err := st.SaveRoomMembers(ctx, room, m); err != nil {
			return err
		}
	}
	return nil
}

func seedReviews(ctx context.Context, st *store.Store) error {
	if err := st.EnsureReview(ctx, ClinicalOK, 365*24*time.Hour); err != nil {
		return err
	}
	return st.EnsureReview(ctx, ClinicalBad, 90*24*time.Hour) // due 10 days before Now
}

func seedPeople(ctx context.Context, st *store.Store) error {
	if err := st.SaveAttestation(ctx, store.Attestation{UserID: Alice, MasterKey: "key", Method: "emoji", AttestedBy: Bot, Note: "re " + NHSNumber}); err != nil {
		return err
	}
	states := []store.VerificationState{
		{UserID: Bob, Status: string(policy.UnsignedDevice), ShortSince: Now.Add(-time.Hour)},
		{UserID: Dave, Status: string(policy.NotAttested), ShortSince: Now.Add(-72 * time.Hour), Suspended: true},
	}
	for _, s := range states {
		if err := st.SaveVerificationState(ctx, s); err != nil {
			return err
		}
	}
	if err := st.AddSuspension(ctx, Dave, ClinicalBad); err != nil {
		return err
	}
	if err := st.AddHold(ctx, store.Hold{UserID: Dave, Reason: "investigation about patient " + NHSNumberSpaced, HeldBy: Alice}); err != nil {
		return err
	}
	return st.AddRequest(ctx, store.AccessRequest{RoomID: ClinicalOK, UserID: Frank, RequestedBy: Frank, Reason: "caring for " + NHSNumber})
}

func seedRetention(ctx context.Context, st *store.Store) error {
	sweeps := []store.SweepState{
		{RoomID: ClinicalOK, LastStarted: Now.Add(-10 * time.Minute), LastFinished: Now.Add(-10 * time.Minute), Redacted: 12},
		{RoomID: ClinicalBad, LastStarted: Now.Add(-time.Hour), Failures: 3, LastError: "redact failed for note about " + NHSNumber},
		{RoomID: Social, LastStarted: Now.Add(-time.Hour), LastFinished: Now.Add(-time.Hour), Backlog: 40, Redacted: 300},
	}
	for _, s := range sweeps {
		if err := st.SaveSweepState(ctx, s); err != nil {
			return err
		}
	}
	return st.AddLegalHold(ctx, store.LegalHold{RoomID: ClinicalBad, Reason: "complaint re NHS no " + NHSNumberSpaced, HeldBy: Alice})
}

func seedRecords(ctx context.Context, st *store.Store) error {
	for i, ev := range []string{"$waiting", "$refused"} {
		r := store.PatientRecord{RoomID: ClinicalOK, EventID: ev, CommandID: fmt.Sprintf("$cmd%d", i), RecordedBy: Alice,
			Payload: `{"subject": "` + NHSNumber + `", "text": "the message"}`}
		if _, err := st.AddRecord(ctx, r); err != nil {
			return err
		}
	}
	return st.RecordFailed(ctx, ClinicalOK, "$refused", store.RecordRejected, "record refused: unknown patient "+NHSNumber, Now.Add(time.Hour))
}

func seedFederation(ctx context.Context, st *store.Store) error {
	if err := st.SetFederationView(ctx, store.FederationView{Servers: []string{"b.test"}, Banned: []store.ListBan{{Entity: "@x:b.test", Reason: "left"}}}); err != nil {
		return err
	}
	if err := st.SetGatekeeperState(ctx, store.GatekeeperState{State: store.GatekeeperListStale, Since: Now.Add(-time.Hour), MaxListAge: time.Hour}); err != nil {
		return err
	}
	return st.SetKV(ctx, "audit_head_published_seq", "2")
}

func seedAudit(ctx context.Context, st *store.Store) error {
	detail := func(v map[string]any) string { raw, _ := json.Marshal(v); return string(raw) }
	content := policy.PolicyContent{Class: policy.Clinical, AllowedRoles: []string{"Nurse"}, AutoApprove: policy.AutoApproveDirectory}
	entries := []store.AuditEntry{
		{Actor: Alice, RoomID: ClinicalOK, Action: string(policy.SetState), Reason: "room options changed",
			Detail: detail(map[string]any{"rule": policy.RuleRoomOption, "event_type": policy.PolicyEventType, "content": content})},
		{Actor: Bob, RoomID: Social, Action: gatekeeper.ActionRefused, Reason: "gate_nhs_number", Detail: detail(map[string]any{"endpoint": "send"})},
		{Actor: Bot, RoomID: ClinicalBad, Action: string(policy.Kick), Reason: "unverified past grace (patient " + NHSNumber + ")",
			Detail: detail(map[string]any{"rule": policy.RuleSuspension, "user_id": Dave})},
		{Actor: Alice, RoomID: ClinicalOK, Action: "request", Reason: "asked to join: " + NHSNumberSpaced, Detail: detail(map[string]any{"user_id": Frank})},
	}
	for _, e := range entries {
		if _, err := st.AppendAudit(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
