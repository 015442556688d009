package appservice_test

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// fronts are the two ways a clinician's client reaches a trust's Dendrite:
// directly, and through the gatekeeper (docs/gatekeeper.md).
var fronts = []struct {
	name       string
	gatekeeper bool
}{{"direct", false}, {"gatekeeper", true}}

// TestElementEngineAcrossTrusts: what Element does every day still works
// with matrix-js-sdk (Element's engine, Rust crypto) through each trust's
// gatekeeper, side by side with the direct path: login and cross-signing
// (key upload), an encrypted room made on trust A and a cross-trust
// invitation (a judged endpoint, allowed) and join by trust B, an encrypted
// message B decrypts (A claims B's one-time key and sends the room key by
// to-device), a to-device message, a file uploaded on A and downloaded on
// B, and /sync long polls throughout. Through the gatekeeper, each of those
// requests is shown to have passed it.
func TestElementEngineAcrossTrusts(t *testing.T) {
	dir := jsSDKDir(t)
	for _, front := range fronts {
		t.Run(front.name, func(t *testing.T) {
			a := trust.New(t, trust.Options{Host: "127.0.0.11", Gatekeeper: front.gatekeeper})
			b := trust.New(t, trust.Options{Host: "127.0.0.12", Gatekeeper: front.gatekeeper})
			a.HS.RegisterUser(t, "alice", false)
			b.HS.RegisterUser(t, "bob", false)
			cmd := exec.Command("node", "two-trusts.mjs",
				a.HS.ClientURL, "alice", "correct horse battery alice", b.HS.ClientURL, "bob", "correct horse battery bob")
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Logf("stderr: %s", ee.Stderr)
				}
				t.Fatalf("matrix-js-sdk: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var res struct {
				Room      string `json:"room"`
				Invited   bool   `json:"invited"`
				Joined    bool   `json:"joined"`
				Decrypted bool   `json:"decrypted"`
				ToDevice  bool   `json:"to_device"`
				MediaOK   bool   `json:"media_ok"`
				MediaPath string `json:"media_path"`
				Error     string `json:"error"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("matrix-js-sdk printed %q: %v", out, err)
			}
			t.Logf("%+v", res)
			if res.Error != "" || !res.Invited || !res.Joined || !res.Decrypted || !res.ToDevice || !res.MediaOK {
				t.Fatalf("Element's engine across trusts, %s: %+v", front.name, res)
			}
			if !front.gatekeeper {
				return
			}
			for _, c := range []struct {
				tr           *trust.Trust
				what, method string
				parts        []string
			}{
				{a, "login", "POST", []string{"/login"}},
				{a, "createRoom", "POST", []string{"/createRoom"}},
				{a, "the cross-trust invite", "POST", []string{"/invite"}},
				{a, "A's key upload", "POST", []string{"/keys/upload"}},
				{a, "A's claim of B's one-time key", "POST", []string{"/keys/claim"}},
				{a, "the encrypted message", "PUT", []string{"/send/m.room.encrypted/"}},
				{a, "to-device messages", "PUT", []string{"/sendToDevice/"}},
				{a, "the upload", "POST", []string{"/upload"}},
				{a, "A's /sync long polls", "GET", []string{"/sync", "timeout=30000"}},
				{b, "B's join", "POST", []string{"/join/"}},
				{b, "B's key upload", "POST", []string{"/keys/upload"}},
				{b, "B's download", "GET", []string{res.MediaPath}},
				{b, "B's /sync long polls", "GET", []string{"/sync", "timeout=30000"}},
			} {
				if c.tr.Gatekeeper.Received(c.method, c.parts...) == 0 {
					t.Errorf("%s did not pass the gatekeeper (%s %v)", c.what, c.method, c.parts)
				}
			}
		})
	}
}
