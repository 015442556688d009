package testenv

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// SharedSecret is the registration shared secret of test homeservers.
const SharedSecret = "complement"

var (
	dendriteOnce sync.Once
	dendriteDir  string
	dendriteErr  error
)

// DendriteBinaries builds Dendrite (once, cached outside the repo by
// scripts/build-dendrite.sh) and returns the directory holding its binaries.
func DendriteBinaries(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	dendriteOnce.Do(func() {
		var stderr bytes.Buffer
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "build-dendrite.sh"))
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			dendriteErr = fmt.Errorf("build Dendrite: %v\n%s", err, stderr.String())
			return
		}
		dendriteDir = strings.TrimSpace(string(out))
	})
	if dendriteErr != nil {
		Unavailable(t, "%v", dendriteErr)
	}
	return dendriteDir
}

// HomeserverOptions shape a test homeserver.
type HomeserverOptions struct {
	// IP is the loopback address to bind, e.g. 127.0.0.11. One address per
	// trust keeps server ACLs meaningful, since ACLs ignore ports.
	IP string
	// HTTPPort and HTTPSPort are chosen free when zero.
	HTTPPort, HTTPSPort int
	// AppServiceRegistrations are registration files to load.
	AppServiceRegistrations []string
	// Database is a PostgreSQL URI for all of Dendrite's components; empty
	// means SQLite files in the homeserver's directory.
	Database string
	// OnDisk keeps the full-text search index and JetStream's streams on
	// disk, as a trust's Dendrite does (Dendrite's defaults). Tests keep
	// them in memory (generate-config -ci: "only useful in tests"), which
	// is fast but holds every message ever sent in the Go heap — a
	// 100,000-message room makes it 2 GiB, and the garbage collection that
	// every later event then costs is nothing a trust's server pays.
	// Benchmarks of big rooms set it.
	OnDisk bool
	// NoFederationListener leaves the server name's port (HTTPSPort) to
	// something standing in front of Dendrite (a trust's gatekeeper, on
	// FederationAddr with TLSFiles): Dendrite binds only its HTTP port,
	// where it serves the federation API too.
	NoFederationListener bool
	// ServerHost is the host of the server name, when it is not IP: a name
	// the test resolves itself (Go's HTTPS_PROXY handling never sends a
	// loopback IP through a proxy, so outbound proxy tests need names).
	ServerHost string
	// Env is added to Dendrite's environment (e.g. HTTPS_PROXY: its
	// federation client goes through a forward proxy).
	Env []string
}

// Homeserver is a running Dendrite.
type Homeserver struct {
	ServerName string
	URL        string
	// ClientURL is where the users' clients talk to the homeserver: URL,
	// unless something stands in front of it (a trust's gatekeeper).
	// Registration, the appservice and federation use URL.
	ClientURL string
	Dir       string
	opts      HomeserverOptions
	bin       string
	cmd       *exec.Cmd
	exited    chan struct{}
	logPath   string
}

// PlanHomeserver picks ports and names without starting anything, so a test
// can write Caldicott's config (which needs the homeserver's address) first.
func PlanHomeserver(t testing.TB, opts HomeserverOptions) *Homeserver {
	t.Helper()
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.HTTPPort == 0 {
		opts.HTTPPort = FreePort(t, opts.IP)
	}
	if opts.HTTPSPort == 0 {
		opts.HTTPSPort = FreePort(t, opts.IP)
	}
	host := opts.ServerHost
	if host == "" {
		host = opts.IP
	}
	return &Homeserver{
		ServerName: fmt.Sprintf("%s:%d", host, opts.HTTPSPort),
		URL:        fmt.Sprintf("http://%s:%d", opts.IP, opts.HTTPPort),
		ClientURL:  fmt.Sprintf("http://%s:%d", opts.IP, opts.HTTPPort),
		Dir:        t.TempDir(),
		opts:       opts,
	}
}

// MediaPath is Dendrite's media_api.base_path (absolute).
func (hs *Homeserver) MediaPath() string {
	abs, _ := filepath.Abs(filepath.Join(hs.Dir, "media_store"))
	return abs
}

// FederationAddr is the address of the server name's port (host:port on
// the homeserver's IP): Dendrite's TLS listener, or, with
// NoFederationListener, whatever stands there in front of it.
func (hs *Homeserver) FederationAddr() string {
	return fmt.Sprintf("%s:%d", hs.opts.IP, hs.opts.HTTPSPort)
}

// TLSFiles are Dendrite's self-signed certificate and key (written by
// Start), for whatever stands on FederationAddr in its place.
func (hs *Homeserver) TLSFiles() (cert, key string) {
	return filepath.Join(hs.Dir, "server.crt"), filepath.Join(hs.Dir, "server.key")
}

// AddRegistration adds an appservice registration file; call before Start.
func (hs *Homeserver) AddRegistration(path string) {
	hs.opts.AppServiceRegistrations = append(hs.opts.AppServiceRegistrations, path)
}

// StartHomeserver plans and starts a homeserver, stopped when the test ends.
func StartHomeserver(t testing.TB, opts HomeserverOptions) *Homeserver {
	t.Helper()
	hs := PlanHomeserver(t, opts)
	hs.Start(t)
	return hs
}

// Start writes the homeserver's config (first time) and starts it.
func (hs *Homeserver) Start(t testing.TB) {
	t.Helper()
	hs.bin = DendriteBinaries(t)
	cfgPath := filepath.Join(hs.Dir, "dendrite.yaml")
	if _, err := os.Stat(cfgPath); os.IsNotExist(err) {
		if err := WriteDendriteConfig(hs.bin, hs.Dir, hs.ServerName, hs.opts.Database, hs.opts.AppServiceRegistrations, hs.opts.OnDisk); err != nil {
			t.Fatal(err)
		}
	}
	hs.logPath = filepath.Join(hs.Dir, "dendrite.log")
	logFile, err := os.OpenFile(hs.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-config", cfgPath, "-http-bind-address", fmt.Sprintf("%s:%d", hs.opts.IP, hs.opts.HTTPPort)}
	if !hs.opts.NoFederationListener {
		// Without a certificate and key Dendrite binds no HTTPS listener.
		cert, key := hs.TLSFiles()
		args = append(args, "-https-bind-address", hs.FederationAddr(), "-tls-cert", cert, "-tls-key", key)
	}
	hs.cmd = exec.Command(filepath.Join(hs.bin, "dendrite"), args...)
	hs.cmd.Dir = hs.Dir
	if len(hs.opts.Env) > 0 {
		hs.cmd.Env = append(os.Environ(), hs.opts.Env...)
	}
	hs.cmd.Stdout, hs.cmd.Stderr = logFile, logFile
	hs.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := hs.cmd.Start(); err != nil {
		t.Fatalf("start dendrite: %v", err)
	}
	hs.exited = make(chan struct{})
	go func() { _ = hs.cmd.Wait(); logFile.Close(); close(hs.exited) }()
	t.Cleanup(hs.Stop)
	if err := WaitForHomeserver(hs.URL, 60*time.Second, hs.exited); err != nil {
		t.Fatalf("dendrite at %s: %v\n%s", hs.URL, err, tailFile(hs.logPath, 4000))
	}
}

// Stop ends the homeserver; calling it twice is harmless.
func (hs *Homeserver) Stop() {
	if hs.cmd == nil || hs.cmd.Process == nil {
		return
	}
	select {
	case <-hs.exited:
		return
	default:
	}
	_ = syscall.Kill(-hs.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-hs.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-hs.cmd.Process.Pid, syscall.SIGKILL)
		<-hs.exited
	}
}

// Log returns the end of the homeserver's log, for failure messages.
func (hs *Homeserver) Log() string { return tailFile(hs.logPath, 8000) }

// WaitForHomeserver polls /_matrix/client/versions until it answers 200.
func WaitForHomeserver(url string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("homeserver exited during start-up")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WriteDendriteConfig generates keys and a dendrite.yaml in dir for
// serverName, with the given appservice registrations; db is a PostgreSQL
// URI shared by all Dendrite's components, or "" for SQLite files in dir;
// onDisk keeps the search index and JetStream on disk (HomeserverOptions).
// The demo uses it too.
func WriteDendriteConfig(bin, dir, serverName, db string, registrations []string, onDisk bool) error {
	keys := exec.Command(filepath.Join(bin, "generate-keys"), "-private-key", "matrix_key.pem", "-tls-cert", "server.crt", "-tls-key", "server.key", "-keysize", "2048")
	keys.Dir = dir
	if out, err := keys.CombinedOutput(); err != nil {
		return fmt.Errorf("generate-keys: %v: %s", err, out)
	}
	args := []string{"-ci", "-dir", dir, "-server", serverName}
	if db != "" {
		args = append(args, "-db", db)
	}
	out, err := exec.Command(filepath.Join(bin, "generate-config"), args...).Output()
	if err != nil {
		return fmt.Errorf("generate-config: %w", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		return fmt.Errorf("parse generated dendrite config: %w", err)
	}
	global := cfg["global"].(map[string]any)
	global["private_key"] = filepath.Join(dir, "matrix_key.pem")
	global["jetstream"].(map[string]any)["storage_path"] = dir
	if onDisk {
		global["jetstream"].(map[string]any)["in_memory"] = false
		cfg["sync_api"].(map[string]any)["search"].(map[string]any)["in_memory"] = false
	}
	global["report_stats"] = map[string]any{"enabled": false}
	cfg["federation_api"].(map[string]any)["disable_tls_validation"] = true
	// Accounts are made with the shared secret; open sign-up stays off.
	clientAPI := cfg["client_api"].(map[string]any)
	clientAPI["registration_disabled"] = true
	clientAPI["guests_disabled"] = true
	abs := make([]string, len(registrations))
	for i, r := range registrations {
		if abs[i], err = filepath.Abs(r); err != nil {
			return err
		}
	}
	cfg["app_service_api"].(map[string]any)["config_files"] = abs
	// Media in a known place, so retention can be told where files live.
	cfg["media_api"].(map[string]any)["base_path"] = filepath.Join(dir, "media_store")
	// Dendrite logs to stderr; we redirect that to a file.
	cfg["logging"] = []any{map[string]any{"type": "std", "level": "info"}}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "dendrite.yaml"), data, 0o600)
}

// RegisterUser creates an account through shared-secret registration and
// returns a mautrix client logged in as it, as a clinician's client would be:
// talking to ClientURL.
func (hs *Homeserver) RegisterUser(t testing.TB, localpart string, admin bool) *mautrix.Client {
	t.Helper()
	cli, err := RegisterUser(hs.URL, localpart, "correct horse battery "+localpart, admin)
	if err != nil {
		t.Fatalf("register %s: %v", localpart, err)
	}
	if hs.ClientURL != hs.URL {
		if cli.HomeserverURL, err = url.Parse(hs.ClientURL); err != nil {
			t.Fatalf("client URL %q: %v", hs.ClientURL, err)
		}
	}
	return cli
}

// RegisterUser is shared-secret registration (the Synapse admin API Dendrite implements).
func RegisterUser(hsURL, localpart, password string, admin bool) (*mautrix.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	endpoint := hsURL + "/_synapse/admin/v1/register"
	var nonce struct {
		Nonce string `json:"nonce"`
	}
	if err := getJSON(ctx, endpoint, &nonce); err != nil {
		return nil, fmt.Errorf("get nonce: %w", err)
	}
	adminWord := "notadmin"
	if admin {
		adminWord = "admin"
	}
	mac := hmac.New(sha1.New, []byte(SharedSecret))
	mac.Write([]byte(nonce.Nonce + "\x00" + localpart + "\x00" + password + "\x00" + adminWord))
	body, _ := json.Marshal(map[string]any{"nonce": nonce.Nonce, "username": localpart, "password": password, "admin": admin, "mac": hex.EncodeToString(mac.Sum(nil))})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var reg struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
		DeviceID    string `json:"device_id"`
		ErrCode     string `json:"errcode"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reg); err != nil {
		return nil, fmt.Errorf("status %d: unreadable answer: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != 200 {
		// The code too: the demo tells "already registered" (M_USER_IN_USE,
		// on a second `make run`) from a real failure by it.
		return nil, fmt.Errorf("status %d: %s: %s", resp.StatusCode, reg.ErrCode, reg.Error)
	}
	cli, err := mautrix.NewClient(hsURL, id.UserID(reg.UserID), reg.AccessToken)
	if err != nil {
		return nil, err
	}
	cli.DeviceID = id.DeviceID(reg.DeviceID)
	return cli, nil
}

func getJSON(ctx context.Context, url string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: status %s", url, strconv.Itoa(resp.StatusCode))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
