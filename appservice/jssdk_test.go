package appservice_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

var npmOnce sync.Once

// jsSDKDir returns e2e/jssdk with its npm dependencies installed.
func jsSDKDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Unavailable(t, "node is not installed")
	}
	dir := filepath.Join(testenv.RepoRoot(t), "e2e", "jssdk")
	var installErr error
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "matrix-js-sdk")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			installErr = err
			t.Logf("npm ci: %s", out)
		}
	})
	if installErr != nil {
		testenv.Unavailable(t, "npm ci failed: %v", installErr)
	}
	return dir
}

// TestElementEngineCrossSigning: a clinician's client built on matrix-js-sdk
// with its Rust crypto (the engine inside Element Web) bootstraps
// cross-signing against real Dendrite; Caldicott's cryptographic checks
// accept what it published, and the trust's in-person confirmation makes the
// member verified.
func TestElementEngineCrossSigning(t *testing.T) {
	dir := jsSDKDir(t)
	tr := trust.New(t, trust.Options{Host: "127.0.0.11"})
	tr.Start(t)
	bot := tr.BotID()
	tr.HS.RegisterUser(t, "alice", false)
	ig, mgmt := tr.IGAdmin(t)
	cmd := exec.Command("node", "bootstrap-cross-signing.mjs", tr.HS.ClientURL, "alice", "correct horse battery alice")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("matrix-js-sdk: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res struct {
		UserID    string `json:"user_id"`
		DeviceID  string `json:"device_id"`
		MasterKey string `json:"master_key"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.MasterKey == "" {
		t.Fatalf("no master key from matrix-js-sdk: %v %q", err, out)
	}
	testenv.Say(t, ig, mgmt, "!policy verification "+res.UserID)
	n := testenv.WaitForNotice(t, ig, mgmt, bot, res.UserID+": ⚠ not yet confirmed by the trust")
	if !strings.Contains(n, "Devices: 1, of which 1 verified.") {
		t.Errorf("the device Element's engine signed is not seen as signed:\n%s", n)
	}
	testenv.Say(t, ig, mgmt, "!policy attest "+res.UserID+" "+spaced(res.MasterKey)+" -- checked at the ward desk")
	testenv.WaitForNotice(t, ig, mgmt, bot, "Recorded: "+res.UserID+"'s identity")
	testenv.Say(t, ig, mgmt, "!policy verification "+res.UserID)
	testenv.WaitForNotice(t, ig, mgmt, bot, res.UserID+": ✅ verified")
}
