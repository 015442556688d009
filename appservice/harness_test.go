package appservice_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// withEncryption, in newTrust's extra YAML, turns the bot's encryption device on.
const withEncryption = "# test: encryption enabled\n"

// trust is one demo trust: a real Dendrite and a Caldicott beside it.
type trust struct {
	hs      *testenv.Homeserver
	cfg     *config.Config
	store   *store.Store
	svc     *appservice.Service
	cancel  context.CancelFunc
	done    chan error
	logPath string
	// logLevel is the service's log level: debug (the zero value) unless a
	// test asks for more.
	logLevel zerolog.Level
	// yaml is the config as written, for runs of the caldicott binary.
	yaml string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTrust plans a homeserver on ip, writes Caldicott's config and
// registration, and starts Dendrite with it. Caldicott is not started yet.
func newTrust(t *testing.T, ip string, dbURI string, extraYAML string) *trust {
	t.Helper()
	// Test clients are plain mautrix clients that cannot decrypt, so the
	// bot's encryption device is off unless a test turns it on.
	encryption := "disabled"
	if strings.Contains(extraYAML, withEncryption) {
		encryption = "enabled"
	}
	hs := testenv.PlanHomeserver(t, testenv.HomeserverOptions{IP: ip, Database: dendriteDatabase(t), OnDisk: benchmarking()})
	asPort := testenv.FreePort(t, "127.0.0.1")
	dir := t.TempDir()
	dbType := "sqlite"
	if dbURI == "" {
		dbURI = filepath.Join(dir, "caldicott.db")
	} else {
		dbType = "postgres"
	}
	// The demo federation is trust A on 127.0.0.11 and trust B on .12; a
	// test may give its own federation section.
	name, federation := "Trust A", `federation: {servers: ["127.0.0.12"]}`
	if ip == "127.0.0.12" {
		name, federation = "Trust B", `federation: {servers: ["127.0.0.11"]}`
	}
	if strings.Contains(extraYAML, "federation:") {
		federation = ""
	}
	yml := fmt.Sprintf(`
homeserver: {address: %q, domain: %q}
appservice: {address: "http://127.0.0.1:%d", port: %d, as_token: %q, hs_token: %q, encryption: %s}
database: {type: %s, uri: %q}
trust: {name: %q, management_room: "#caldicott-management:%s", ig_admins: ["@ig:%s"]}
%s
policy: {reconcile_interval: 0s}
logging: {level: debug}
%s`, hs.URL, hs.ServerName, asPort, asPort, randomHex(20), randomHex(20), encryption, dbType, dbURI, name, hs.ServerName, hs.ServerName, federation, extraYAML)
	cfg, err := config.Parse([]byte(yml))
	if err != nil {
		t.Fatalf("test config: %v", err)
	}
	reg := filepath.Join(dir, "registration.yaml")
	if err := cfg.Registration().Save(reg); err != nil {
		t.Fatal(err)
	}
	hs.AddRegistration(reg)
	hs.Start(t)
	tr := &trust{hs: hs, cfg: cfg, logPath: filepath.Join(dir, "caldicott.log"), yaml: yml}
	t.Cleanup(func() {
		tr.stopCaldicott(t)
		if t.Failed() {
			t.Logf("caldicott log:\n%s", tail(tr.logPath, 6000))
			if d := os.Getenv("CALDICOTT_TEST_LOGS"); d != "" {
				keepLog(t, tr.logPath, filepath.Join(d, t.Name()+"-caldicott.log"))
			}
			t.Logf("dendrite log:\n%s", hs.Log())
		}
	})
	return tr
}

// dendriteDBEnv=postgres puts the test's homeservers on PostgreSQL, as a
// trust with a thousand clinical rooms runs Dendrite (benchmarks set it;
// the suite keeps Dendrite's SQLite). On SQLite, Dendrite keeps a rollback
// journal, so each read of a room's state holds up its writer.
const dendriteDBEnv = "CALDICOTT_BENCH_DENDRITE_DB"

func dendriteDatabase(t *testing.T) string {
	switch v := os.Getenv(dendriteDBEnv); v {
	case "", "sqlite":
		return ""
	case "postgres":
		return testenv.Postgres(t)
	default:
		t.Fatalf("%s=%q: say sqlite or postgres", dendriteDBEnv, v)
		return ""
	}
}

// dendriteDatabaseName says which database the test's homeservers use.
func dendriteDatabaseName() string {
	if os.Getenv(dendriteDBEnv) == "postgres" {
		return "PostgreSQL 15"
	}
	return "SQLite"
}

func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// startCaldicott runs Caldicott in-process and waits until it is ready.
func (tr *trust) startCaldicott(t *testing.T, waitReady bool) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, tr.cfg.Database.Type, tr.cfg.Database.URI, 4)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	logFile, err := os.OpenFile(tr.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(logFile).With().Timestamp().Logger().Level(tr.logLevel)
	svc, err := appservice.New(tr.cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(log.WithContext(ctx))
	tr.store, tr.svc, tr.cancel, tr.done = st, svc, cancel, make(chan error, 1)
	go func() {
		err := svc.Run(runCtx)
		st.Close()
		logFile.Close()
		tr.done <- err
	}()
	if !waitReady {
		return
	}
	select {
	case <-svc.Ready():
	case err := <-tr.done:
		t.Fatalf("caldicott stopped during start-up: %v\n%s", err, tail(tr.logPath, 4000))
	case <-time.After(60 * time.Second):
		t.Fatalf("caldicott not ready within 60s\n%s", tail(tr.logPath, 4000))
	}
}

func (tr *trust) stopCaldicott(t *testing.T) {
	if tr.cancel == nil {
		return
	}
	tr.cancel()
	select {
	case err := <-tr.done:
		if err != nil {
			t.Errorf("caldicott stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("caldicott did not stop within 20s")
	}
	tr.cancel = nil
}

func (tr *trust) botID() id.UserID { return id.UserID(tr.cfg.BotUserID()) }

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
}

var ctx = context.Background()

var (
	event_member = event.StateMember
	typeChild    = event.Type{Type: "m.space.child", Class: event.StateEventType}
	typeParent   = event.Type{Type: "m.space.parent", Class: event.StateEventType}
)

// botNotices returns the bodies of the bot's recent messages in a room.
func botNotices(t *testing.T, cli *mautrix.Client, roomID id.RoomID, bot id.UserID) []string {
	t.Helper()
	resp, err := cli.Messages(ctx, roomID, "", "", mautrix.DirectionBackward, nil, 100)
	if err != nil {
		t.Fatalf("read messages of %s: %v", roomID, err)
	}
	var out []string
	for _, evt := range resp.Chunk {
		if evt.Sender != bot || evt.Type != event.EventMessage || evt.Unsigned.RedactedBecause != nil {
			continue // not the bot's, or deleted under the room's retention
		}
		_ = evt.Content.ParseRaw(evt.Type)
		msg := evt.Content.AsMessage()
		// Notices, except where the bot calls on people to act (a notice
		// never notifies anyone).
		if calls := msg.Mentions != nil && len(msg.Mentions.UserIDs) > 0; msg.MsgType != event.MsgNotice && (msg.MsgType != event.MsgText || !calls) {
			t.Errorf("bot sent msgtype %s (mentions %v), want m.notice, or m.text calling on someone", msg.MsgType, msg.Mentions)
		}
		if msg.FormattedBody == "" || msg.Format != event.FormatHTML {
			t.Errorf("bot notice without HTML body: %q", msg.Body)
		}
		out = append(out, msg.Body)
	}
	return out
}

// waitForNotice waits for a bot notice containing every one of wants.
func waitForNotice(t *testing.T, cli *mautrix.Client, roomID id.RoomID, bot id.UserID, wants ...string) string {
	t.Helper()
	var found string
	eventually(t, 20*time.Second, fmt.Sprintf("a notice containing %q", wants), func() (bool, string) {
		notices := botNotices(t, cli, roomID, bot)
		for _, n := range notices {
			all := true
			for _, w := range wants {
				all = all && strings.Contains(n, w)
			}
			if all {
				found = n
				return true, ""
			}
		}
		return false, strings.Join(notices, "\n---\n")
	})
	return found
}

// stateField reads one field of a state event's content ("" when absent).
func stateContent(t *testing.T, cli *mautrix.Client, roomID id.RoomID, evtType string) map[string]any {
	t.Helper()
	var out map[string]any
	err := cli.StateEvent(ctx, roomID, event.Type{Type: evtType, Class: event.StateEventType}, "", &out)
	if err != nil && !strings.Contains(err.Error(), "M_NOT_FOUND") {
		t.Fatalf("read %s of %s: %v", evtType, roomID, err)
	}
	return out
}

func waitForState(t *testing.T, cli *mautrix.Client, roomID id.RoomID, evtType, key string, want any) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%s.%s = %v", evtType, key, want), func() (bool, string) {
		c := stateContent(t, cli, roomID, evtType)
		return fmt.Sprint(c[key]) == fmt.Sprint(want), fmt.Sprint(c)
	})
}

func say(t *testing.T, cli *mautrix.Client, roomID id.RoomID, text string) {
	t.Helper()
	if _, err := cli.SendMessageEvent(ctx, roomID, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: text}); err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
}

func setState(t *testing.T, cli *mautrix.Client, roomID id.RoomID, evtType string, content any) {
	t.Helper()
	if _, err := cli.SendStateEvent(ctx, roomID, event.Type{Type: evtType, Class: event.StateEventType}, "", content); err != nil {
		t.Fatalf("set %s: %v", evtType, err)
	}
}

// roomWithBot creates a room as owner, invites the bot and waits for it to join.
func roomWithBot(t *testing.T, owner *mautrix.Client, bot id.UserID, req *mautrix.ReqCreateRoom) id.RoomID {
	t.Helper()
	req.Invite = append(req.Invite, bot)
	resp, err := owner.CreateRoom(ctx, req)
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	eventually(t, 20*time.Second, "the bot to join", func() (bool, string) {
		m, err := owner.JoinedMembers(ctx, resp.RoomID)
		if err != nil {
			return false, err.Error()
		}
		_, ok := m.Joined[bot]
		return ok, fmt.Sprint(len(m.Joined), " members")
	})
	return resp.RoomID
}

func setPower(t *testing.T, cli *mautrix.Client, roomID id.RoomID, user id.UserID, level int) {
	t.Helper()
	var pl event.PowerLevelsEventContent
	if err := cli.StateEvent(ctx, roomID, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	pl.SetUserLevel(user, level)
	if _, err := cli.SendStateEvent(ctx, roomID, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatalf("set power of %s: %v", user, err)
	}
}

// clinicalRoom is the usual start of a scenario: owner creates a room,
// invites the bot and makes it admin, classifies the room clinical, waits for
// its protections, and the members join.
func clinicalRoom(t *testing.T, tr *trust, owner *mautrix.Client, members ...*mautrix.Client) id.RoomID {
	t.Helper()
	req := &mautrix.ReqCreateRoom{Preset: "private_chat"}
	for _, m := range members {
		req.Invite = append(req.Invite, m.UserID)
	}
	room := roomWithBot(t, owner, tr.botID(), req)
	setPower(t, owner, room, tr.botID(), 100)
	say(t, owner, room, "!policy classify clinical")
	checkHardened(t, owner, room, tr)
	for _, m := range members {
		if _, err := m.JoinRoomByID(ctx, room); err != nil {
			t.Fatalf("%s joins: %v", m.UserID, err)
		}
	}
	return room
}

// igAdmin registers the trust's IG admin (@ig, listed in the test config)
// and has them join the management room the bot created and invited them to.
func igAdmin(t *testing.T, tr *trust) (*mautrix.Client, id.RoomID) {
	t.Helper()
	ig := tr.hs.RegisterUser(t, "ig", false)
	mgmt := tr.svc.ManagementRoom()
	if mgmt == "" {
		t.Fatal("no management room")
	}
	if _, err := ig.JoinRoomByID(ctx, mgmt); err != nil {
		t.Fatalf("IG admin joins the management room: %v", err)
	}
	return ig, mgmt
}

// benchmarking: this process runs a benchmark's scenario, whose Dendrite is
// set up as a trust's would be (testenv.HomeserverOptions.OnDisk).
func benchmarking() bool {
	for _, env := range []string{sweepBenchEnv, parallelBenchEnv, fedBenchEnv} {
		if os.Getenv(env) == "1" {
			return true
		}
	}
	return false
}
