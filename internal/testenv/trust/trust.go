package trust

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
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/appservice"
	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// Options plan one trust. The zero value but Host is the usual test trust:
// SQLite for Caldicott and Dendrite, the bot's encryption device off.
type Options struct {
	// Host is the homeserver's address and server name: the demo federation
	// is trust A on 127.0.0.11 and trust B on 127.0.0.12, each listing the
	// other unless ConfigYAML has its own federation section.
	Host string
	// Database is Caldicott's PostgreSQL URI; empty means SQLite in the
	// test's temporary directory.
	Database string
	// Encryption turns the bot's encryption device on. Test clients are
	// plain mautrix clients that cannot decrypt, so it is off by default.
	Encryption bool
	// ConfigYAML is added to the generated configuration.
	ConfigYAML string
	// DendritePostgres puts Dendrite on PostgreSQL, as a trust with a
	// thousand clinical rooms runs it (benchmarks); on SQLite, Dendrite
	// keeps a rollback journal, so each read of a room's state holds up
	// its writer.
	DendritePostgres bool
	// OnDisk sets Dendrite up as a trust's would be
	// (testenv.HomeserverOptions.OnDisk): benchmarks.
	OnDisk bool
	// Gatekeeper puts a gatekeeper (in-process) in front of the trust's
	// Dendrite: the clients tr.HS.RegisterUser returns talk to it
	// (Trust.Gatekeeper.URL); the bot and federation go to Dendrite.
	Gatekeeper bool
	// GatekeeperFederation puts the gatekeeper on the federation port too:
	// Dendrite does not bind the server name's port, and the gatekeeper
	// listens there with TLS (Dendrite's own certificate), passing other
	// servers' requests to Dendrite's HTTP listener as it judges them
	// (Trust.Gatekeeper.FederationURL). It implies Gatekeeper.
	GatekeeperFederation bool
}

// Trust is one demo trust: a real Dendrite and a Caldicott beside it.
type Trust struct {
	HS      *testenv.Homeserver
	Config  *config.Config
	Store   *store.Store // while Caldicott runs
	Service *appservice.Service
	LogPath string
	// LogLevel is the service's log level: debug (the zero value) unless a
	// test asks for more.
	LogLevel zerolog.Level
	// YAML is the config as written, for runs of the caldicott binary.
	YAML string
	// Gatekeeper is the gatekeeper in front of Dendrite (Options.Gatekeeper);
	// nil: clients talk to Dendrite directly.
	Gatekeeper *Front

	cancel context.CancelFunc
	done   chan error
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New plans a homeserver on opts.Host, writes Caldicott's config and
// registration, and starts Dendrite with it. Caldicott is not started yet
// (Start), so a test may change Config first.
func New(t testing.TB, opts Options) *Trust {
	t.Helper()
	hsOpts := testenv.HomeserverOptions{IP: opts.Host, OnDisk: opts.OnDisk, NoFederationListener: opts.GatekeeperFederation}
	if opts.DendritePostgres {
		hsOpts.Database = testenv.Postgres(t)
	}
	hs := testenv.PlanHomeserver(t, hsOpts)
	dir := t.TempDir()
	yml := configYAML(t, hs, dir, opts)
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
	tr := &Trust{HS: hs, Config: cfg, LogPath: filepath.Join(dir, "caldicott.log"), YAML: yml}
	if opts.Gatekeeper || opts.GatekeeperFederation {
		host := opts.Host
		if host == "" {
			host = "127.0.0.1"
		}
		tr.startFront(t, host, dir, opts.GatekeeperFederation)
	}
	t.Cleanup(func() {
		tr.Stop(t)
		if t.Failed() {
			t.Logf("caldicott log:\n%s", Tail(tr.LogPath, 6000))
			if d := os.Getenv("CALDICOTT_TEST_LOGS"); d != "" {
				KeepLog(t, tr.LogPath, filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_")+"-caldicott.log"))
			}
			t.Logf("dendrite log:\n%s", hs.Log())
		}
	})
	return tr
}

// configYAML is Caldicott's configuration for a test trust on hs.
func configYAML(t testing.TB, hs *testenv.Homeserver, dir string, opts Options) string {
	// Without the bot's device, its messages to encrypted (clinical) rooms
	// go in plaintext, so plain test clients can read them.
	encryption := "disabled, plaintext_in_encrypted_rooms: true"
	if opts.Encryption {
		encryption = "enabled"
	}
	asPort := testenv.FreePort(t, "127.0.0.1")
	dbType, dbURI := "postgres", opts.Database
	if dbURI == "" {
		dbType, dbURI = "sqlite", filepath.Join(dir, "caldicott.db")
	}
	name, federation := "Trust A", `federation: {servers: ["127.0.0.12"]}`
	if opts.Host == "127.0.0.12" {
		name, federation = "Trust B", `federation: {servers: ["127.0.0.11"]}`
	}
	if strings.Contains(opts.ConfigYAML, "federation:") {
		federation = ""
	}
	return fmt.Sprintf(`
homeserver: {address: %q, domain: %q}
appservice: {address: "http://127.0.0.1:%d", port: %d, as_token: %q, hs_token: %q, encryption: %s}
database: {type: %s, uri: %q}
trust: {name: %q, management_room: "#caldicott-management:%s", ig_admins: ["@ig:%s"]}
%s
policy: {reconcile_interval: 0s}
logging: {level: debug}
%s`, hs.URL, hs.ServerName, asPort, asPort, randomHex(20), randomHex(20), encryption, dbType, dbURI, name, hs.ServerName, hs.ServerName, federation, opts.ConfigYAML)
}

// Start runs Caldicott in-process and waits up to a minute until it is ready.
func (tr *Trust) Start(t testing.TB) {
	t.Helper()
	tr.Launch(t)
	tr.WaitReady(t, 60*time.Second)
}

// Launch runs Caldicott in-process and returns at once.
func (tr *Trust) Launch(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 4)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	logFile, err := os.OpenFile(tr.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(logFile).With().Timestamp().Logger().Level(tr.LogLevel)
	svc, err := appservice.New(tr.Config, st, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(log.WithContext(ctx))
	tr.Store, tr.Service, tr.cancel, tr.done = st, svc, cancel, make(chan error, 1)
	tr.relaunchFront(t)
	go func() {
		err := svc.Run(runCtx)
		st.Close()
		logFile.Close()
		tr.done <- err
	}()
}

// WaitReady waits until the launched Caldicott has caught up (enforcing,
// and its start-up reconciliation done), failing the test if it stops or
// takes longer than within.
func (tr *Trust) WaitReady(t testing.TB, within time.Duration) {
	t.Helper()
	tr.waitFor(t, tr.Service.CaughtUp(), "caught up", within)
}

// WaitEnforcing waits until the launched Caldicott is ready in the
// service's sense: enforcing, its start-up reconciliation maybe running.
func (tr *Trust) WaitEnforcing(t testing.TB, within time.Duration) {
	t.Helper()
	tr.waitFor(t, tr.Service.Ready(), "enforcing", within)
}

// waitFor waits for signal, failing the test if Caldicott stops first or
// within passes.
func (tr *Trust) waitFor(t testing.TB, signal <-chan struct{}, what string, within time.Duration) {
	t.Helper()
	select {
	case <-signal:
	case err := <-tr.done:
		t.Fatalf("caldicott stopped during start-up: %v\n%s", err, Tail(tr.LogPath, 4000))
	case <-time.After(within):
		t.Fatalf("caldicott not %s within %s\n%s", what, within, Tail(tr.LogPath, 4000))
	}
}

// Stop stops Caldicott (if running) and waits for it to finish.
func (tr *Trust) Stop(t testing.TB) {
	t.Helper()
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

// BotID is the trust's bot.
func (tr *Trust) BotID() id.UserID { return id.UserID(tr.Config.BotUserID()) }

// BotClient is a client acting as the bot through the appservice token.
func (tr *Trust) BotClient(t testing.TB) *mautrix.Client {
	t.Helper()
	cli, err := mautrix.NewClient(tr.HS.URL, tr.BotID(), tr.Config.AppService.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	cli.SetAppServiceUserID = true
	return cli
}

// Tail is the last n bytes of a file, for failure messages.
func Tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// KeepLog copies a log to where a developer asked for it to be kept.
func KeepLog(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, data, 0o644)
	}
	if err != nil {
		t.Errorf("keep %s: %v", from, err)
	}
}
