// Command demo runs a local demonstration federation for `make run`: two
// trusts, each a Dendrite homeserver (SQLite, loopback) with a Caldicott
// beside it, demo accounts, and instructions to log in with Element or any
// Matrix client. State lives in .demo/ and survives restarts; delete the
// folder to start afresh. Ctrl-C stops everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
)

type trust struct {
	name, ip   string
	asPort     int
	serverName string
	dir        string
	// pair: two Caldicotts on PostgreSQL behind a proxy (-pair, pair.go).
	pair bool
}

// clientURL is Dendrite's: the bot, registration and the demo's own
// checks use it. People's clients use gatekeeperURL, in front of it.
func (t trust) clientURL() string { return "http://" + t.ip + ":8008" }

func (t trust) gatekeeperURL() string { return "http://" + t.ip + ":8009" }

// gatekeeperSection puts `caldicott gatekeeper` in front of the trust's
// Dendrite, its metrics on a port of their own; and the IG lead's pages
// on a listener of their own, on loopback over plain HTTP (the demo has
// no TLS: a trust serves them behind its TLS front).
func (t trust) gatekeeperSection() string {
	return fmt.Sprintf("gatekeeper:\n    listen: %s:8009\n    metrics_listen: %s:9009\n", t.ip, t.ip) + t.adminSection()
}

func (t trust) adminSection() string {
	return fmt.Sprintf("admin_api:\n    listen: 127.0.0.1:%d\n    signin:\n        plain_http_loopback: true\n", t.asPort+10)
}

var trusts = []trust{
	{name: "Trust A", ip: "127.0.0.11", asPort: 29331},
	{name: "Trust B", ip: "127.0.0.12", asPort: 29332},
}

var users = []struct {
	localpart, trustIP, role string
	// directory is the person's row in their trust's staff directory.
	directory string
}{
	{"alice", "127.0.0.11", "clinician at Trust A", "Alice Smith,Consultant,Cardiology,GMC 1234567,active"},
	{"carol", "127.0.0.11", "nurse at Trust A", "Carol Jones,Staff Nurse,Ward 7,NMC 12A3456B,active"},
	{"ig", "127.0.0.11", "IG admin at Trust A", "Iris Green,IG Lead,Information Governance,,active"},
	{"bob", "127.0.0.12", "clinician at Trust B", "Bob Khan,Registrar,Cardiology,GMC 7654321,active"},
	{"ig", "127.0.0.12", "IG admin at Trust B", "Ian Grey,IG Lead,Information Governance,,active"},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	pair := flag.Bool("pair", false, "run Trust A as two Caldicotts on a throwaway PostgreSQL behind a round-robin proxy (state in .demo-pair/, afresh each run)")
	flag.Parse()
	root, _ := os.Getwd()
	demoDir := filepath.Join(root, ".demo")
	if *pair {
		demoDir = filepath.Join(root, ".demo-pair")
		if err := os.RemoveAll(demoDir); err != nil {
			return err
		}
		defer testenv.StopPostgres()
	}
	dendriteBin, err := output("bash", filepath.Join(root, "scripts", "build-dendrite.sh"))
	if err != nil {
		return fmt.Errorf("build Dendrite: %w", err)
	}
	caldicott := filepath.Join(root, "bin", "caldicott")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	for i := range trusts {
		t := &trusts[i]
		t.serverName = t.ip + ":8448"
		t.dir = filepath.Join(demoDir, strings.ReplaceAll(strings.ToLower(t.name), " ", "-"))
		if err := prepareTrust(*t, dendriteBin, caldicott); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if *pair && i == 0 {
			srv, err := setUpPair(t)
			if err != nil {
				return fmt.Errorf("%s pair: %w", t.name, err)
			}
			defer srv.Close()
		}
		started, err := startTrust(*t, dendriteBin, caldicott)
		procs = append(procs, started...)
		if err != nil {
			return err
		}
		if i == 0 {
			// Trust A hosts the federation's policy list: let it make the
			// room before Trust B's bot looks for it.
			waitForAlias(t.clientURL(), "#caldicott-federation:"+t.serverName, 60*time.Second)
		}
	}
	for _, u := range users {
		url := "http://" + u.trustIP + ":8008"
		if _, err := testenv.RegisterUser(url, u.localpart, password(u.localpart), u.localpart == "ig"); err != nil && !strings.Contains(err.Error(), "M_USER_IN_USE") {
			return fmt.Errorf("register %s on %s: %w", u.localpart, u.trustIP, err)
		}
	}
	for _, t := range trusts {
		if err := loadDirectory(t, caldicott); err != nil {
			return fmt.Errorf("%s staff directory: %w", t.name, err)
		}
	}
	printInstructions()
	if *pair {
		printPairInstructions()
	}
	<-ctx.Done()
	fmt.Println("\nStopping the demo federation…")
	return nil
}

// startTrust starts a trust's Dendrite, its Caldicott and the gatekeeper in
// front of them (after Caldicott, which makes the database first), and
// returns what it started.
func startTrust(t trust, dendriteBin, caldicott string) ([]*exec.Cmd, error) {
	var procs []*exec.Cmd
	hs, err := start(filepath.Join(t.dir, "dendrite.log"), t.dir, filepath.Join(dendriteBin, "dendrite"),
		"-config", "dendrite.yaml", "-http-bind-address", t.ip+":8008", "-https-bind-address", t.ip+":8448",
		"-tls-cert", "server.crt", "-tls-key", "server.key")
	if err != nil {
		return procs, err
	}
	procs = append(procs, hs)
	if err := testenv.WaitForHomeserver(t.clientURL(), 60*time.Second, nil); err != nil {
		return procs, fmt.Errorf("%s homeserver: %w (see %s)", t.name, err, filepath.Join(t.dir, "dendrite.log"))
	}
	for _, c := range []struct {
		log  string
		args []string
	}{
		{"caldicott.log", []string{"-c", "config.yaml"}},
		{"gatekeeper.log", []string{"gatekeeper", "-c", "config.yaml"}},
		{"caldicott-b.log", []string{"-c", "config-b.yaml"}},
	} {
		if c.log == "caldicott-b.log" && !t.pair {
			continue
		}
		p, err := start(filepath.Join(t.dir, c.log), t.dir, caldicott, c.args...)
		if err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	if err := testenv.WaitForHomeserver(t.gatekeeperURL(), 60*time.Second, nil); err != nil {
		return procs, fmt.Errorf("%s gatekeeper: %w (see %s)", t.name, err, filepath.Join(t.dir, "gatekeeper.log"))
	}
	return procs, nil
}

// waitForAlias waits (up to a bound) until an alias resolves on a homeserver.
func waitForAlias(clientURL, alias string, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(clientURL + "/_matrix/client/v3/directory/room/" + url.PathEscape(alias))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "%s did not appear within %s; Trust B's bot joins it when it does\n", alias, within)
}

// loadDirectory imports the demo staff of one trust, as an operator would
// with the trust's export (a real trust would sync LDAP or use SCIM).
func loadDirectory(t trust, caldicott string) error {
	csv := "user_id,name,role,team,registration,status\n"
	for _, u := range users {
		if u.trustIP == t.ip {
			csv += fmt.Sprintf("@%s:%s,%s\n", u.localpart, t.serverName, u.directory)
		}
	}
	path := filepath.Join(t.dir, "staff.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		return err
	}
	imp := exec.Command(caldicott, "directory", "import", "-c", "config.yaml", "staff.csv")
	imp.Dir = t.dir
	if out, err := imp.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func password(localpart string) string { return "demo-" + localpart + "-password" }

// prepareTrust writes configs the first time; later runs reuse them.
func prepareTrust(t trust, dendriteBin, caldicott string) error {
	if old, err := os.ReadFile(filepath.Join(t.dir, "config.yaml")); err == nil {
		return addGatekeeper(t, old)
	}
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		return err
	}
	var others []string
	for _, o := range trusts {
		if o.ip != t.ip {
			others = append(others, fmt.Sprintf("%q", o.ip+":8448"))
		}
	}
	cfg := fmt.Sprintf(`homeserver:
    address: %s
    domain: "%s"
appservice:
    address: http://127.0.0.1:%d
    hostname: 127.0.0.1
    port: %d
    as_token: generate
    hs_token: generate
database:
    type: sqlite
    uri: %s
trust:
    name: %s
    management_room: "#caldicott-management:%s"
    ig_admins: ["@ig:%s"]
federation:
    servers: [%s]
    policy_list: "#caldicott-federation:127.0.0.11:8448"
    admins: ["@ig:127.0.0.11:8448"]
policy:
    reconcile_interval: 10m
logging:
    level: info
    format: pretty
%s`, t.clientURL(), t.serverName, t.asPort, t.asPort, filepath.Join(t.dir, "caldicott.db"), t.name, t.serverName, t.serverName, strings.Join(others, ", "), t.gatekeeperSection())
	if err := os.WriteFile(filepath.Join(t.dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	gen := exec.Command(caldicott, "generate-registration", "-c", "config.yaml", "-o", "registration.yaml")
	gen.Dir = t.dir
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("generate-registration: %v: %s", err, out)
	}
	return testenv.WriteDendriteConfig(dendriteBin, t.dir, t.serverName, "", []string{filepath.Join(t.dir, "registration.yaml")}, false)
}

// addGatekeeper adds the gatekeeper's and the admin pages' sections to a
// config written by a demo from before them, so an old .demo/ keeps working.
func addGatekeeper(t trust, config []byte) error {
	var add string
	if !strings.Contains(string(config), "\ngatekeeper:") {
		add = t.gatekeeperSection()
	} else if !strings.Contains(string(config), "\nadmin_api:") {
		add = t.adminSection()
	}
	if add == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(t.dir, "config.yaml"), append(config, add...), 0o600)
}

func start(logPath, dir, name string, args ...string) (*exec.Cmd, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	return cmd, nil
}

func output(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func printInstructions() {
	fmt.Print(`
Caldicott demo federation is running.

  Trust A homeserver: http://127.0.0.11:8009   (server name 127.0.0.11:8448)
  Trust B homeserver: http://127.0.0.12:8009   (server name 127.0.0.12:8448)

Each is the trust's gatekeeper (caldicott gatekeeper, docs/gatekeeper.md) in
front of its Dendrite (port 8008 on the same address, which the bot uses): it
refuses an outsider's invitation into a clinical room, a clinical room made
public or an NHS number in a social room before Dendrite sees them, and
counts its refusals at http://127.0.0.11:9009/metrics (Trust B: .12).

Log in with Element (set the homeserver to the gatekeeper's URL above) or any
Matrix client:
`)
	for _, u := range users {
		fmt.Printf("  @%s:%s:8448  password %-24s %s\n", u.localpart, u.trustIP, password(u.localpart), u.role)
	}
	fmt.Print(`
Each trust's staff directory is loaded from .demo/trust-*/staff.csv; anyone
else (register more with Dendrite's create-account) is refused by clinical rooms.

Try it:
  1. As alice, start a direct chat with @caldicott:127.0.0.11:8448 and type
       !policy new-room clinical Ward 7 handover
     then accept the invitation: the room is encrypted, invite-only, closed to
     guests and to servers outside the two trusts.
  2. Or create a room yourself, invite the bot, make it admin and type
       !policy classify clinical
  3. Try making the room public in its settings: Caldicott sets it back and
     says who changed what. Type !policy status or !policy help.
  4. Invite carol (a nurse) and watch her identity posted as she joins; invite
     bob from Trust B: federated trusts are admitted.
  5. As ig, open the "Caldicott management" room: !policy report, !policy
     directory, !policy leaver @carol:127.0.0.11:8448.
  6. Clinical rooms need confirmed identities: in Element set up Secure
     Backup (cross-signing), then type !policy verify in your direct chat
     with the bot, accept its request and compare the emoji with the ones it
     posts. Bob's confirmation by Trust B's bot reaches Trust A by itself.
  7. One policy across the trusts: both bots share the federation's policy
     list (#caldicott-federation:127.0.0.11:8448). With bob in one of Trust
     A's clinical rooms, log in as ig of Trust B and, in its management room,
     type !policy leaver @bob:127.0.0.12:8448 — Trust B publishes it and
     Trust A removes bob within a second. In Trust A's management room,
     !policy federation shows the trusts, their bots and the rules; as ig of
     Trust A (the federation's admin), !policy trust add <server> typed in
     the federation's list room admits a new trust to every clinical room's
     server ACL.
  8. The IG lead's compliance pages: open http://127.0.0.1:29341/_caldicott/ui/
     (Trust B: 29342) in a browser, sign in as @ig:127.0.0.11:8448 — the bot
     sends the code to ig's direct chat with it — and print the overview to
     PDF for an evidence pack. For the JSON API, make a token:
       bin/caldicott admin token create -c .demo/trust-a/config.yaml --name me --scope read

Logs: .demo/trust-a/{dendrite,caldicott,gatekeeper}.log.  Ctrl-C stops everything;
delete .demo/ to start afresh.
`)
}
