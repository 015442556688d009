package appservice_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/bridges/epr"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

func replyWith(t *testing.T, cli *mautrix.Client, roomID id.RoomID, to id.EventID, text string) id.EventID {
	t.Helper()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: text}
	content.RelatesTo = (&event.RelatesTo{}).SetReplyTo(to)
	return testenv.Send(t, cli, roomID, content, event.EventMessage)
}

// editWith edits a message as Element does: m.new_content, with a
// "* "-prefixed fallback body, related by m.replace to the original.
func editWith(t *testing.T, cli *mautrix.Client, roomID id.RoomID, original id.EventID, text string) id.EventID {
	t.Helper()
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: "* " + text}
	content.SetEdit(original)
	content.NewContent = &event.MessageEventContent{MsgType: event.MsgText, Body: text}
	return testenv.Send(t, cli, roomID, content, event.EventMessage)
}

// TestPatientRecord: a room admin replies to a clinician's message with
// `!policy record <NHS number>`; a valid FHIR R4 Communication reaches a
// real FHIR server (Medplum's, which validates), attributed with the
// sender's registration; with the server down the message waits, is kept
// past its retention, and the room admins are reminded; once the server is
// back it is recorded, confirmed and then deleted on schedule.
func TestPatientRecord(t *testing.T) {
	base, fhirSrv := testenv.StartFHIR(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`
retention: {clinical: {default: 10s, min: 1s, max: 1h}, sweep_interval: 1s}
records: {fhir_base_url: %q, token: %q, remind_before: 1h}`, base, fhirSrv.Token)})
	alice, bob, room := recordingWard(t, tr)
	bot := tr.BotID()

	// Corrected by its sender after it was sent: the record carries what
	// the room now reads (Element replies to the original event). An
	// "edit" by someone else is not the sender's and is ignored.
	advice := testenv.SendText(t, bob, room, "Advised IV fluids 1L over 6h")
	editWith(t, bob, room, advice, "Advised IV fluids 1L over 8h")
	editWith(t, alice, room, advice, "Advised nothing")
	replyWith(t, alice, room, advice, "!policy record 943 476 5918")
	testenv.WaitForNotice(t, alice, room, bot, "That is not a valid NHS number", "Nothing was recorded")
	testenv.Say(t, alice, room, "!policy record 943 476 5919")
	testenv.WaitForNotice(t, alice, room, bot, "Reply to the message you want in the patient record")

	replyWith(t, alice, room, advice, "!policy record 943 476 5919")
	testenv.WaitForNotice(t, alice, room, bot, "✅ The patient record has accepted this message (Communication/")
	comms := fhirSrv.Communications(t)
	if len(comms) != 1 {
		t.Fatalf("the FHIR server holds %d Communications, want 1", len(comms))
	}
	c := comms[0]
	if c.Subject == nil || c.Subject.Identifier == nil || *c.Subject.Identifier.System != epr.SystemNHSNumber || *c.Subject.Identifier.Value != "9434765919" {
		t.Fatalf("subject is not the NHS number: %+v", c.Subject)
	}
	if c.Sender == nil || c.Sender.Identifier == nil || *c.Sender.Identifier.System != epr.SystemNMC || *c.Sender.Display != "Bob Jones" {
		t.Fatalf("sender not attributed with the directory's name and registration: %+v", c.Sender)
	}
	if len(c.Payload) == 0 || c.Payload[0].ContentString != "Advised IV fluids 1L over 8h" {
		t.Fatalf("payload: %+v", c.Payload)
	}
	if len(c.Recipient) != 1 || *c.Recipient[0].Display != "Alice Smith" {
		t.Fatalf("recipients: %+v", c.Recipient)
	}
	replyWith(t, alice, room, advice, "!policy record 943 476 5919")
	testenv.WaitForNotice(t, alice, room, bot, "That message is already in the patient record")

	// The record goes away for a while: the request waits and is kept.
	fhirSrv.Down(t)
	plan := testenv.SendText(t, bob, room, "Plan: repeat U&E at 16:00")
	planEdit := editWith(t, bob, room, plan, "Plan: repeat U&E at 18:00")
	replyWith(t, alice, room, plan, "!policy record 9434765919")
	testenv.WaitForNotice(t, alice, room, bot, "Sending this message to the patient record")
	later := testenv.SendText(t, bob, room, "Noted")
	waitRedacted(t, alice, room, 30*time.Second, later)
	if redacted(t, alice, room, plan) {
		t.Fatal("a message waiting for the patient record was deleted")
	}
	if redacted(t, alice, room, planEdit) {
		t.Fatal("the edit of a message waiting for the patient record was deleted: the room reads the old text again")
	}
	testenv.WaitForNotice(t, alice, room, bot, "alice: ⏰ This message has not reached the patient record yet")
	// The reminder calls on the room admin: her client is notified and
	// highlights it; Bob, not an admin, is not called on.
	if !highlighted(t, alice, room, "has not reached the patient record") {
		t.Fatal("the room admin was not notified of the reminder")
	}
	if highlighted(t, bob, room, "has not reached the patient record") {
		t.Fatal("a member who is not a room admin was called on by the reminder")
	}
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Patient record: 1 message(s) waiting", "could not be reached")

	fhirSrv.Up(t)
	testenv.Eventually(t, 60*time.Second, "the waiting message to be recorded", func() (bool, string) {
		return len(fhirSrv.Communications(t)) == 2, ""
	})
	testenv.WaitForNotice(t, alice, room, bot, "✅ The patient record has accepted this message")
	var texts []string
	for _, c := range fhirSrv.Communications(t) {
		texts = append(texts, c.Payload[0].ContentString)
	}
	if !slices.Contains(texts, "Plan: repeat U&E at 18:00") {
		t.Fatalf("the record holds %q, not the edited plan", texts)
	}
	// Recorded, and long expired: now it goes, with its edit.
	waitRedacted(t, alice, room, 30*time.Second, plan)
	waitRedacted(t, alice, room, 30*time.Second, planEdit)

	entries, err := tr.Store.AuditForRoom(ctx, room.String(), 500)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "record.") {
			got = append(got, e.Action)
		}
		if strings.Contains(e.Reason+e.Detail, "9434765919") || strings.Contains(e.Reason+e.Detail, "IV fluids") {
			t.Fatalf("patient data in the audit log: %+v", e)
		}
	}
	if strings.Join(got, ",") != "record.requested,record.accepted,record.requested,record.accepted" {
		t.Fatalf("audit: %v", got)
	}
}

// TestPatientRecordRefusal: the record refuses (here, a wrong token); the
// room admin is told with the server's reason, the message is kept; once
// the operator fixes the config and restarts, it is recorded.
func TestPatientRecordRefusal(t *testing.T) {
	base, fhirSrv := testenv.StartFHIR(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`records: {fhir_base_url: %q, token: "not-the-token"}`, base)})
	alice := tr.HS.RegisterUser(t, "alice", false)
	tr.Start(t)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Registration: "GMC 1234567", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	bot := tr.BotID()
	room := tr.ClinicalRoom(t, alice)
	note := testenv.SendText(t, alice, room, "Discussed with microbiology: stop meropenem")
	replyWith(t, alice, room, note, "!policy record 943 476 5919")
	testenv.WaitForNotice(t, alice, room, bot, "⚠ The patient record refused this message", "401")
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Patient record: 1 message(s) waiting", "refused")
	if len(fhirSrv.Communications(t)) != 0 {
		t.Fatal("a refused message reached the record")
	}

	tr.Stop(t)
	tr.Config.Records.Token = fhirSrv.Token
	tr.Start(t)
	testenv.WaitForNotice(t, alice, room, bot, "✅ The patient record has accepted this message")
	if n := len(fhirSrv.Communications(t)); n != 1 {
		t.Fatalf("%d Communications after the fix, want 1", n)
	}
}

// highlighted says whether the homeserver notified cli, with a highlight,
// of a message in room containing text (GET /notifications).
func highlighted(t *testing.T, cli *mautrix.Client, room id.RoomID, text string) bool {
	t.Helper()
	found := false
	testenv.Eventually(t, 15*time.Second, "notifications of "+cli.UserID.String(), func() (bool, string) {
		got := notificationsOf(t, cli)
		for _, n := range got {
			if n.RoomID != room.String() || !strings.Contains(string(n.Event), text) {
				continue
			}
			for _, a := range n.Actions {
				if tw, ok := a.(map[string]any); ok && tw["set_tweak"] == "highlight" && tw["value"] != false {
					found = true
				}
			}
			return true, ""
		}
		return false, fmt.Sprintf("%d notifications, none of %q", len(got), text)
	})
	return found
}

// recordingWard starts Caldicott on tr with a clinical room of Alice, a
// consultant, and Bob, a nurse, both in the directory with their
// professional registrations (what a record names its sender by).
func recordingWard(t *testing.T, tr *trust.Trust) (alice, bob *mautrix.Client, room id.RoomID) {
	t.Helper()
	alice = tr.HS.RegisterUser(t, "alice", false)
	bob = tr.HS.RegisterUser(t, "bob", false)
	tr.Start(t)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Registration: "GMC 1234567", Status: "active", Source: "csv"},
		{UserID: bob.UserID.String(), Name: "Bob Jones", Role: "Nurse", Registration: "NMC 12A3456B", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	return alice, bob, tr.ClinicalRoom(t, alice, bob)
}
