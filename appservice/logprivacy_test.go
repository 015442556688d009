package appservice_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/nhsnumber"
	"github.com/caldicott/caldicott/store"
)

// TestNoPersonalDataInLogs: a whole scenario with the service logging at
// trace — a member whose directory name the bot announces, an access
// request, a legal hold, a leaver, each with a reason, an NHS number the
// guard removes from a social room, a kick the homeserver refuses and
// requests that fail outright because the homeserver is down — and then
// not one of the planted names, reasons or the NHS number is in the log,
// which still names the rooms and events it acted on.
func TestNoPersonalDataInLogs(t *testing.T) {
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.LogLevel = zerolog.TraceLevel
	tr.Start(t)
	bot := tr.BotID()

	nhs := plantedNHSNumber(t)
	planted := map[string]string{
		"directory name":          "Ottoline Quarrendon-Vasquez",
		"access request reason":   "plantedrequest covering Mr Abernethy's nights",
		"legal hold reason":       "plantedhold complaint from Mrs Featherstonehaugh",
		"leaver reason":           "plantedleaver dismissed after tribunal",
		"removal reason":          "plantedremoval conduct concern about Mrs Pennywhistle",
		"failed request's reason": "plantedfailure solicitor's letter re Mrs Tuppence",
		"NHS number":              nhs,
		"NHS number (digits)":     strings.ReplaceAll(nhs, " ", ""),
	}

	users := map[string]*mautrix.Client{}
	var staff []store.StaffRecord
	for _, u := range []struct{ local, name string }{{"alice", "Alice Smith"}, {"dave", planted["directory name"]}, {"erin", "Erin Wu"}, {"frank", "Frank Ode"}} {
		users[u.local] = tr.HS.RegisterUser(t, u.local, false)
		staff = append(staff, store.StaffRecord{UserID: users[u.local].UserID.String(), Name: u.name, Role: "Staff Nurse", Team: "Ward 7", Status: "active", Source: "csv"})
	}
	if err := tr.Store.UpsertStaff(ctx, staff); err != nil {
		t.Fatal(err)
	}
	alice, dave, erin, frank := users["alice"], users["dave"], users["erin"], users["frank"]
	ig, mgmt := tr.IGAdmin(t)

	// The bot announces a joiner's directory name to the room.
	room := tr.ClinicalRoom(t, alice, dave, frank)
	testenv.WaitForNotice(t, alice, room, bot, dave.UserID.String()+" joined: "+planted["directory name"])

	// An access request: its reason goes to the room's admins.
	dm := testenv.RoomWithBot(t, erin, bot, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true})
	testenv.Say(t, erin, dm, "!policy request "+room.String()+" "+planted["access request reason"])
	testenv.WaitForNotice(t, alice, room, bot, "Their reason: "+planted["access request reason"])

	// A legal hold: its reason is repeated to the IG admin.
	testenv.Say(t, ig, mgmt, "!policy hold on "+room.String()+" "+planted["legal hold reason"])
	testenv.WaitForNotice(t, ig, mgmt, bot, "Legal hold placed on "+room.String(), planted["legal hold reason"])

	// A removal the homeserver refuses (frank is the bot's equal): the
	// kick carries the reason, and the refusal is a failed request.
	testenv.SetPower(t, alice, room, frank.UserID, 100)
	testenv.Say(t, alice, room, "!policy remove "+frank.UserID.String()+" "+planted["removal reason"])
	testenv.WaitForNotice(t, alice, room, bot, frank.UserID.String())
	if m := testenv.MembershipOf(t, alice, room, frank.UserID); m != "join" {
		t.Fatalf("frank is %q, want still joined", m)
	}

	// A leaver, with a reason.
	testenv.Say(t, ig, mgmt, "!policy leaver "+dave.UserID.String()+" "+planted["leaver reason"])
	testenv.WaitForNotice(t, ig, mgmt, bot, dave.UserID.String()+" is recorded as having left")
	waitGone(t, alice, room, dave.UserID, 10*time.Second)

	// An NHS number in a social room: the guard removes the message.
	social := testenv.RoomWithBot(t, alice, bot, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	testenv.SetPower(t, alice, social, bot, 50)
	testenv.Say(t, alice, social, "!policy classify social")
	testenv.WaitForNotice(t, alice, social, bot, "social")
	withNHS := testenv.SendText(t, alice, social, "Mrs Jones "+nhs+" needs a bed")
	waitRedacted(t, alice, social, 20*time.Second, withNHS)

	// Requests that fail outright (error level): the homeserver goes down,
	// and a hold arrives whose answer the bot cannot deliver.
	tr.HS.Stop()
	hold := fmt.Sprintf(`{"events":[{"type":"m.room.message","sender":%q,"room_id":%q,"event_id":"$hold-while-down","origin_server_ts":%d,"content":{"msgtype":"m.text","body":%q}}]}`,
		ig.UserID, mgmt, time.Now().UnixMilli(), "!policy hold on "+social.String()+" "+planted["failed request's reason"])
	if code := putTransaction(t, tr, "hold-while-down", hold); code != 200 {
		t.Fatalf("transaction answered %d", code)
	}
	testenv.Eventually(t, 20*time.Second, "a request to fail at error level", func() (bool, string) {
		data, _ := os.ReadFile(tr.LogPath)
		return failedAtErrorLevel(string(data)), ""
	})
	tr.Stop(t)

	checkLogs(t, tr, planted, room.String(), social.String(), mgmt.String(), withNHS.String(), "$hold-while-down", dave.UserID.String())
}

// checkLogs reads the stopped service's log: it must be a real trace of
// the scenario, name every one of ids, and hold none of the planted values.
func checkLogs(t *testing.T, tr *trust.Trust, planted map[string]string, ids ...string) {
	t.Helper()
	data, err := os.ReadFile(tr.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := string(data)
	// The log is a real one: it traced the scenario, logged the requests it
	// made (where mautrix would put their bodies) and named what it acted on.
	lines, requests := strings.Count(logs, "\n"), strings.Count(logs, `"Request completed"`)
	if lines < 100 || requests < 20 || !strings.Contains(logs, `"level":"trace"`) {
		t.Fatalf("the log is too thin to prove anything (%d lines, %d requests)", lines, requests)
	}
	for _, want := range ids {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not name %s", want)
		}
	}
	for what, s := range planted {
		if n := strings.Count(logs, s); n > 0 {
			t.Errorf("the %s (%q) is in the log %d time(s), e.g.:\n%s", what, s, n, lineWith(logs, s))
		}
	}
}

// plantedNHSNumber is a valid NHS number (modulus 11) that no other test uses.
func plantedNHSNumber(t *testing.T) string {
	for i := 0; i < 1000; i++ {
		n := fmt.Sprintf("6173%06d", 480000+i)
		if nhsnumber.Valid(n) {
			return n[:3] + " " + n[3:6] + " " + n[6:]
		}
	}
	t.Fatal("no valid NHS number found")
	return ""
}

func failedAtErrorLevel(logs string) bool {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"error"`) && strings.Contains(line, `"Request failed"`) {
			return true
		}
	}
	return false
}

func lineWith(logs, s string) string {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
