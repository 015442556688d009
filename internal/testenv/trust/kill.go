package trust

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// KillSteps are, per kind of work, the failpoints (CALDICOTT_FAILPOINT) a
// kill -9 trial stops the process at: the executor's (planned, performed
// but not recorded, completed) and the sweep's and the record's own state
// written. "sweep:cursor" is reached only in a room with more than a page
// of history to sweep (KillRig sends that much for it).
var KillSteps = map[string][]string{
	"transaction": {"planned:kick", "performed:0:kick", "completed:0:kick", "performed:1:notify_room", "completed:1:notify_room",
		"planned:set_state", "performed:0:set_state", "completed:0:set_state"},
	"reconciliation": {"planned:kick", "performed:0:kick", "completed:0:kick", "performed:1:notify_room", "completed:1:notify_room",
		"planned:set_state", "performed:0:set_state", "completed:0:set_state"},
	"sweep":  {"planned:redact", "performed:0:redact", "completed:0:redact", "sweep:saved", "sweep:cursor"},
	"record": {"planned:reply", "performed:0:reply", "completed:0:reply", "record:posted", "record:accepted", "record:told"},
}

// KillKinds are the kinds of work of KillSteps, in the order trials cycle.
var KillKinds = []string{"transaction", "reconciliation", "sweep", "record"}

// killRetention is the sweep room's retention: its messages expire soon
// after they are sent.
const killRetention = 2 * time.Second

// KillConfigYAML is the configuration a KillRig's trust needs: a clinical
// retention the sweep room may shorten to killRetention, a sweep every
// second, and the patient record on fhir.
func KillConfigYAML(fhir *testenv.FHIRServer) string {
	return fmt.Sprintf(`
retention: {clinical: {default: 1h, min: 1s, max: 2h}, sweep_interval: 1s}
records: {fhir_base_url: %q, token: %q, remind_before: 1m}`, fhir.BaseURL, fhir.Token)
}

// KillRig is one trust (one Dendrite, one FHIR server) on which kill -9
// trials run one after another: each kills a caldicott process (the
// failpoint binary) at one step of one kind of work, restarts Caldicott
// in-process, and checks the state after recovery.
type KillRig struct {
	Tr    *Trust
	FHIR  *testenv.FHIRServer
	Bin   string
	Alice *mautrix.Client // a consultant, room admin of every room
	Bob   *mautrix.Client // a nurse
	// IG reads the management room (mgmt), where each restart after a kill
	// must tell of the takeover once and of its catch-up once.
	IG    *mautrix.Client
	mgmt  id.RoomID
	rooms map[string]id.RoomID
	// since is where the record room's history starts for the check that
	// the sweep deleted nothing unexpired.
	since id.EventID
	// mgmtMark is where the trial's management-room history starts.
	mgmtMark id.EventID
	n        int
}

// KillOutcome is what one trial found.
type KillOutcome struct {
	Kind, Step string
	// Killed: the process reached the failpoint (else it was killed after
	// a minute, and the trial says so).
	Killed bool
	// Recovery: from the restart to the state checked right.
	Recovery time.Duration
	// Lost: actions not done (an outsider left in, a drift standing, an
	// expired message kept, a record not delivered, a notice not sent).
	Lost int
	// Doubled: actions done more than once (notices, removals, repairs,
	// redactions, records).
	Doubled int
	// Wrong: unexpired messages deleted; AuditBroken: the chain failed.
	Wrong       int
	AuditBroken bool
	// Alerts and AllClears: the management room's notices of the takeover
	// and of its catch-up after the restart (one each is right).
	Alerts, AllClears int
	Detail            string
}

// OK says whether the state after recovery was right.
func (o KillOutcome) OK() bool {
	return o.Killed && o.Lost == 0 && o.Doubled == 0 && o.Wrong == 0 && !o.AuditBroken && o.Alerts == 1 && o.AllClears == 1
}

// NewKillRig sets a rig up on tr (made with KillConfigYAML, not started):
// Alice and Bob in the directory, a clinical room per kind of work, the
// sweep room's retention at killRetention; Caldicott left stopped.
func NewKillRig(t testing.TB, tr *Trust, fhir *testenv.FHIRServer, bin string) *KillRig {
	t.Helper()
	k := &KillRig{Tr: tr, FHIR: fhir, Bin: bin, rooms: map[string]id.RoomID{}}
	k.Alice = tr.HS.RegisterUser(t, "alice", false)
	k.Bob = tr.HS.RegisterUser(t, "bob", false)
	tr.Start(t)
	defer tr.Stop(t)
	k.IG, k.mgmt = tr.IGAdmin(t)
	if err := tr.Store.UpsertStaff(context.Background(), []store.StaffRecord{
		{UserID: k.Alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Registration: "GMC 1234567", Status: "active", Source: "csv"},
		{UserID: k.Bob.UserID.String(), Name: "Bob Jones", Role: "Nurse", Registration: "NMC 12A3456B", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range KillKinds {
		k.rooms[kind] = tr.ClinicalRoom(t, k.Alice, k.Bob)
	}
	testenv.SetState(t, k.Alice, k.rooms["sweep"], "m.room.retention", map[string]any{"max_lifetime": killRetention.Milliseconds()})
	k.since = testenv.SendText(t, k.Alice, k.rooms["record"], "Kill trials start here")
	return k
}

// Trial kills a caldicott at step while it does one kind of work, restarts
// Caldicott and checks the state within a minute and a half. Caldicott is
// stopped again when it returns.
func (k *KillRig) Trial(t testing.TB, kind, step string) KillOutcome {
	t.Helper()
	k.n++
	out := KillOutcome{Kind: kind, Step: step}
	room := k.rooms[kind]
	marker := testenv.SendText(t, k.Alice, room, fmt.Sprintf("Trial %d: %s at %s", k.n, kind, step))
	k.mgmtMark = testenv.SendText(t, k.IG, k.mgmt, fmt.Sprintf("Trial %d", k.n))
	var p *Peer
	var check func() (lost, doubled int, detail string)
	start := func() *Peer {
		return StartPeer(t, k.Bin, k.Tr, fmt.Sprintf("crashing-%d", k.n), k.Tr.Config.AppService.Port, "CALDICOTT_FAILPOINT="+step)
	}
	switch kind {
	case "transaction", "reconciliation":
		outsiders := []id.UserID{
			k.Tr.HS.RegisterUser(t, fmt.Sprintf("out%da", k.n), false).UserID,
			k.Tr.HS.RegisterUser(t, fmt.Sprintf("out%db", k.n), false).UserID,
		}
		if kind == "reconciliation" {
			k.drift(t, room, outsiders) // while no caldicott runs
			p = start()
		} else {
			p = start()
			p.WaitRole(t, "leader", 60*time.Second)
			k.drift(t, room, outsiders)
		}
		check = func() (int, int, string) { return k.checkRevoked(t, room, marker, outsiders) }
	case "sweep":
		check = k.sweepTrial(t, room, marker, step)
		p = start()
	case "record":
		p = start()
		p.WaitRole(t, "leader", 60*time.Second)
		check = k.recordTrial(t, room)
	default:
		t.Fatalf("no such kind of work %q", kind)
	}
	out.Killed = waitKilled(t, p, time.Minute)
	k.recover(t, &out, check)
	return out
}

// drift invites the outsiders and opens the room's join rule at once.
func (k *KillRig) drift(t testing.TB, room id.RoomID, outsiders []id.UserID) {
	t.Helper()
	for _, o := range outsiders {
		if _, err := k.Alice.InviteUser(context.Background(), room, &mautrix.ReqInviteUser{UserID: o}); err != nil {
			t.Fatalf("invite %s: %v", o, err)
		}
	}
	if _, err := k.Alice.SendStateEvent(context.Background(), room, event.StateJoinRules, "", map[string]any{"join_rule": "public"}); err != nil {
		t.Fatal(err)
	}
}

// waitKilled waits for p to die of SIGKILL at its failpoint; one that does
// not within d is killed, and reported as not having reached it.
func waitKilled(t testing.TB, p *Peer, d time.Duration) bool {
	t.Helper()
	exited := make(chan struct{})
	go func() { _ = p.Cmd.Wait(); close(exited) }()
	select {
	case <-exited:
		ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus)
		return ok && ws.Signal() == syscall.SIGKILL
	case <-time.After(d):
		_ = p.Cmd.Process.Kill()
		<-exited
		t.Logf("caldicott never reached its failpoint in %s:\n%s", d, Tail(p.Log, 2000))
		return false
	}
}

// recover restarts Caldicott in-process and waits until check finds the
// state right (nothing lost, nothing doubled), then for two seconds more
// that nothing is doubled late; the audit chain is verified last.
func (k *KillRig) recover(t testing.TB, out *KillOutcome, check func() (int, int, string)) {
	t.Helper()
	began := time.Now()
	k.Tr.Launch(t)
	defer k.Tr.Stop(t)
	deadline := began.Add(90 * time.Second)
	for {
		out.Lost, out.Doubled, out.Detail = check()
		if out.Lost == 0 {
			if out.Doubled == 0 {
				out.Recovery = time.Since(began)
			}
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if out.Lost == 0 {
		time.Sleep(2 * time.Second) // a late double
		out.Lost, out.Doubled, out.Detail = check()
	}
	for {
		out.Alerts, out.AllClears = k.takeoverNotices(t)
		if (out.Alerts > 0 && out.AllClears > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if out.Alerts != 1 || out.AllClears != 1 {
		out.Detail = strings.TrimPrefix(out.Detail+fmt.Sprintf("; management room told of the takeover %d times and of its catch-up %d times (want once each)", out.Alerts, out.AllClears), "; ")
	}
	out.Wrong = k.wrongDeletions(t)
	rep, err := k.Tr.Store.VerifyAudit(context.Background())
	out.AuditBroken = err != nil || !rep.OK()
	if out.AuditBroken {
		out.Detail += fmt.Sprintf("; audit chain: %+v, %v", rep, err)
	}
}

// takeoverNotices counts the bot's notices in the management room since
// the trial began: of the takeover by the restarted Caldicott (the killed
// one never handed the lease over), and of its catch-up after it. The
// killed process's own start took a released lease and must say nothing.
func (k *KillRig) takeoverNotices(t testing.TB) (alerts, allClears int) {
	t.Helper()
	for _, evt := range EventsSince(t, k.IG, k.mgmt, k.mgmtMark) {
		if evt.Type != event.EventMessage || evt.Sender != k.Tr.BotID() {
			continue
		}
		_ = evt.Content.ParseRaw(evt.Type)
		body := evt.Content.AsMessage().Body
		switch {
		case strings.Contains(body, "I took over as the leader"):
			alerts++
		case strings.Contains(body, "Caught up after the takeover"):
			allClears++
		}
	}
	return alerts, allClears
}

// wrongDeletions counts deletions in the record room, where nothing has
// expired (its retention is an hour) since the rig was set up.
func (k *KillRig) wrongDeletions(t testing.TB) int {
	t.Helper()
	n := 0
	for _, e := range EventsSince(t, k.Alice, k.rooms["record"], k.since) {
		if e.Type == event.EventRedaction {
			n++
		}
	}
	return n
}

// EventsSince is a room's history after the event since, newest first.
func EventsSince(t testing.TB, cli *mautrix.Client, room id.RoomID, since id.EventID) []*event.Event {
	t.Helper()
	var out []*event.Event
	seen := map[id.EventID]bool{}
	from := ""
	for {
		resp, err := cli.Messages(context.Background(), room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			t.Fatalf("read history of %s: %v", room, err)
		}
		for _, e := range resp.Chunk {
			if e.ID == since {
				return out
			}
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == from {
			t.Fatalf("%s not found in the history of %s", since, room)
		}
		from = resp.End
	}
}

// checkRevoked: each outsider removed and named in one notice, the join
// rule set back once, since marker.
func (k *KillRig) checkRevoked(t testing.TB, room id.RoomID, marker id.EventID, outsiders []id.UserID) (lost, doubled int, detail string) {
	t.Helper()
	notices, removals, repairs := map[id.UserID]int{}, map[id.UserID]int{}, 0
	for _, evt := range EventsSince(t, k.Alice, room, marker) {
		_ = evt.Content.ParseRaw(evt.Type)
		switch {
		case evt.Type == event.StateJoinRules && evt.Sender == k.Tr.BotID():
			repairs++
		case evt.Type == event.StateMember && evt.Content.AsMember().Membership == event.MembershipLeave:
			removals[id.UserID(evt.GetStateKey())]++
		case evt.Type == event.EventMessage && evt.Sender == k.Tr.BotID():
			for _, o := range outsiders {
				if strings.Contains(evt.Content.AsMessage().Body, o.String()) {
					notices[o]++
				}
			}
		}
	}
	var parts []string
	count := func(what string, n int) {
		switch {
		case n == 0:
			lost++
		case n > 1:
			doubled += n - 1
		default:
			return
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", what, n))
	}
	for _, o := range outsiders {
		count("removal of "+o.String(), removals[o])
		count("notice of "+o.String(), notices[o])
	}
	count("join rule repair", repairs)
	return lost, doubled, strings.Join(parts, ", ")
}
