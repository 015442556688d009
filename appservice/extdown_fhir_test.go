package appservice_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// recordReplies counts the bot's replies in room about the patient record
// (rule patient_record) in the audit log.
func recordReplies(t *testing.T, tr *trust.Trust, room id.RoomID) int {
	t.Helper()
	entries, err := tr.Store.AuditForRoom(ctx, room.String(), 500)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == "reply" && strings.Contains(e.Detail, `"rule":"patient_record"`) {
			n++
		}
	}
	return n
}

// TestFHIRDown: the FHIR server stops answering (its port refuses
// connections) before a message is marked for the record. The message
// waits and is kept past its retention (reminders are off here: the room's
// replies about the record are counted); the room is told once that it
// waits, the IG team once that the record cannot be reached, and the gauge
// says so. A second message is marked late in the outage. When the server
// answers again, both are filed at once — the first does not wait out its
// longer backoff — and exactly once each
// (counted on the server), the room and the IG team are told once, the
// gauge and status clear, and the message then goes on schedule.
func TestFHIRDown(t *testing.T) {
	base, fhirSrv := testenv.StartFHIR(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cut := newTCPCut(t, u.Host)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", ConfigYAML: fmt.Sprintf(`
retention: {clinical: {default: 10s, min: 1s, max: 1h}, sweep_interval: 1s}
records: {fhir_base_url: %q, token: %q, remind_before: 0s}`, "http://"+cut.Addr+u.Path, fhirSrv.Token)})
	alice, bob, room := recordingWard(t, tr)
	bot := tr.BotID()
	ig, mgmt := tr.IGAdmin(t)
	const waits, down, back, accepted = "⏳ The patient record cannot be reached at the moment", "The patient record (records.fhir_base_url) cannot be reached", "The patient record can be reached again", "✅ The patient record has accepted this message"

	outage := time.Now()
	cut.Cut()
	plan := testenv.SendText(t, bob, room, "Plan: repeat U&E at 16:00")
	replyWith(t, alice, room, plan, "!policy record 9434765919")
	testenv.WaitForNotice(t, alice, room, bot, "Sending this message to the patient record")
	testenv.WaitForNotice(t, alice, room, bot, waits)
	testenv.WaitForNotice(t, ig, mgmt, bot, down, "1 message(s) marked for it wait")
	t.Logf("FHIR cut: room and IG team told %s after the request", time.Since(outage).Round(time.Second))
	if g := metricLine(t, tr, "caldicott_records_unreachable"); g != "caldicott_records_unreachable 1" {
		t.Fatalf("during the outage: %s", g)
	}
	// Past its 10 s retention (a later message goes), retried and still
	// waiting: kept, and nobody told twice.
	later := testenv.SendText(t, bob, room, "Noted")
	waitRedacted(t, alice, room, 30*time.Second, later)
	if redacted(t, alice, room, plan) {
		t.Fatal("a message waiting for the patient record was deleted")
	}
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Patient record: 1 message(s) waiting", "could not be reached")
	// The room's notices expire with its 10 s retention: the room's
	// replies about the record are counted in the audit log instead.
	testenv.Quiet(t, 5*time.Second, "one notice each while the record is down", func() (bool, string) {
		if n := recordReplies(t, tr, room); n != 1 {
			return false, fmt.Sprintf("%d replies about the record in the room, want 1 (waiting)", n)
		}
		return noticeCount(t, ig, mgmt, bot, down)()
	})
	if n := len(fhirSrv.Communications(t)); n != 0 {
		t.Fatalf("the FHIR server holds %d Communications during the outage", n)
	}
	// A second message, marked late in the outage: its retries come soon
	// after the record is back, the first message's only some 40 s later
	// (its backoff has doubled to 40 s by then). When the second goes
	// through, the first must go with it, not wait out its backoff.
	testenv.WaitUntil(outage.Add(28 * time.Second))
	advice := testenv.SendText(t, bob, room, "Advised: stop the furosemide")
	replyWith(t, alice, room, advice, "!policy record 9434765919")
	testenv.Eventually(t, 20*time.Second, "the second message to be told it waits", func() (bool, string) {
		n := recordReplies(t, tr, room)
		return n == 2, fmt.Sprintf("%d replies about the record", n)
	})

	testenv.WaitUntil(outage.Add(38 * time.Second))
	cut.Mend(t)
	mended := time.Now()
	testenv.Eventually(t, 22*time.Second, "both waiting messages to be filed", func() (bool, string) {
		n := len(fhirSrv.Communications(t))
		return n == 2, fmt.Sprintf("%d Communications", n)
	})
	t.Logf("FHIR back: both waiting messages filed %s later (outage %s; delivery backs off 5 s doubling)", time.Since(mended).Round(time.Second), mended.Sub(outage).Round(time.Second))
	testenv.WaitForNotice(t, alice, room, bot, accepted)
	testenv.WaitForNotice(t, ig, mgmt, bot, back, "could not be for")
	if g := metricLine(t, tr, "caldicott_records_unreachable"); g != "caldicott_records_unreachable 0" {
		t.Fatalf("after the outage: %s", g)
	}
	// Filed and long expired: they go now; nothing is filed or said twice.
	waitRedacted(t, alice, room, 30*time.Second, plan, advice)
	testenv.Quiet(t, 8*time.Second, "one filing and one notice each after the record came back", func() (bool, string) {
		if n := len(fhirSrv.Communications(t)); n != 2 {
			return false, fmt.Sprintf("%d Communications", n)
		}
		if n := recordReplies(t, tr, room); n != 4 {
			return false, fmt.Sprintf("%d replies about the record in the room, want 4 (waiting and accepted, for each message)", n)
		}
		for _, c := range []func() (bool, string){noticeCount(t, ig, mgmt, bot, down), noticeCount(t, ig, mgmt, bot, back)} {
			if ok, s := c(); !ok {
				return false, s
			}
		}
		return true, ""
	})
	testenv.Say(t, alice, room, "!policy status")
	testenv.WaitForNotice(t, alice, room, bot, "Patient record: nothing waiting.")

	entries, err := tr.Store.AuditForRoom(ctx, room.String(), 500)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "record.") {
			got[e.Action]++
		}
	}
	if len(got) != 2 || got["record.requested"] != 2 || got["record.accepted"] != 2 {
		t.Fatalf("audit: %v, want two record.requested and two record.accepted", got)
	}
	auditIntact(t, tr)
}
