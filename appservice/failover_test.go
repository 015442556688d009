package appservice_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
	"github.com/caldicott/caldicott/store"
)

// TestFailoverTwoProcesses runs two caldicott processes with one config on
// one PostgreSQL behind a round-robin proxy at the appservice URL, as a
// trust would behind its load balancer: both store transactions, one
// leads. Killing the leader (SIGKILL) hands the lease to the other, which
// removes an outsider invited right after the kill within 10 s of it;
// freezing the new leader (SIGSTOP) past its lease hands it back, and the
// frozen one, resumed (SIGCONT), stops acting: no notice twice, the audit
// chain intact.
func TestFailoverTwoProcesses(t *testing.T) {
	bin := failpointBinary(t) // no failpoint named: an ordinary caldicott
	// Without the bot's encryption device, so the notices can be read and
	// counted (test clients cannot decrypt).
	tr := trust.New(t, trust.Options{Host: "127.0.0.11", Database: testenv.Postgres(t)})
	tr.Start(t)
	alice := tr.HS.RegisterUser(t, "alice", false)
	if err := tr.Store.UpsertStaff(ctx, []store.StaffRecord{
		{UserID: alice.UserID.String(), Name: "Alice Smith", Role: "Consultant", Status: "active", Source: "csv"},
	}); err != nil {
		t.Fatal(err)
	}
	room := tr.ClinicalRoom(t, alice)
	tr.Stop(t)

	aPort, bPort := testenv.FreePort(t, "127.0.0.1"), testenv.FreePort(t, "127.0.0.1")
	proxy := roundRobin(t, tr.Config.AppService.Port, aPort, bPort)
	a := startPeer(t, bin, tr, "a", aPort)
	waitRole(t, a, "leader", 60*time.Second)
	b := startPeer(t, bin, tr, "b", bPort)
	waitRole(t, b, "standby", 30*time.Second)

	// Both accept transactions; the leader acts on those the standby stored.
	outsider := func(n string) *mautrix.Client { return tr.HS.RegisterUser(t, "outsider"+n, false) }
	o0 := outsider("0")
	invite(t, alice, room, o0.UserID)
	testenv.WaitMembership(t, alice, room, o0.UserID, "leave")
	for i := 0; i < 4; i++ {
		testenv.Say(t, alice, room, fmt.Sprintf("ward round %d", i))
	}
	testenv.Eventually(t, 20*time.Second, "both processes store transactions", func() (bool, string) {
		ta, tb := transactions(t, a), transactions(t, b)
		return ta > 0 && tb > 0, fmt.Sprintf("a %v, b %v (proxy sent %d)", ta, tb, proxy.Load())
	})

	// kill -9 the leader: b takes over and removes an outsider within 10 s.
	o1 := outsider("1")
	killed := time.Now()
	a.signal(t, syscall.SIGKILL)
	invite(t, alice, room, o1.UserID)
	leads := waitRole(t, b, "leader", 15*time.Second)
	testenv.WaitMembership(t, alice, room, o1.UserID, "leave")
	removed := time.Since(killed)
	t.Logf("kill -9 → standby leads %s, outsider removed %s", leads.Sub(killed).Round(10*time.Millisecond), removed.Round(10*time.Millisecond))
	if removed > 10*time.Second {
		t.Errorf("the outsider was removed %s after the leader was killed; want within 10s", removed)
	}

	// a again, on standby; then b frozen past its lease: a takes over.
	a = startPeer(t, bin, tr, "a", aPort)
	waitRole(t, a, "standby", 30*time.Second)
	// Frozen just after an invitation reached it, so it is likely frozen
	// in the middle of removing the outsider; whichever step it was at,
	// the outsider is removed and the room told once.
	o2 := outsider("2")
	invite(t, alice, room, o2.UserID)
	time.Sleep(100 * time.Millisecond)
	frozen := time.Now()
	b.signal(t, syscall.SIGSTOP)
	t.Logf("b frozen with the outsider's membership %s", testenv.MembershipOf(t, alice, room, o2.UserID))
	took := waitRole(t, a, "leader", 15*time.Second)
	testenv.WaitMembership(t, alice, room, o2.UserID, "leave")
	t.Logf("SIGSTOP → the other leads %s", took.Sub(frozen).Round(10*time.Millisecond))
	b.signal(t, syscall.SIGCONT)
	waitRole(t, b, "standby", 10*time.Second)
	o3 := outsider("3")
	invite(t, alice, room, o3.UserID)
	testenv.WaitMembership(t, alice, room, o3.UserID, "leave")

	// Nothing doubled: one removal notice per outsider, the chain intact.
	for _, o := range []*mautrix.Client{o0, o1, o2, o3} {
		testenv.WaitForNotice(t, alice, room, tr.BotID(), "I removed "+o.UserID.String())
	}
	testenv.Quiet(t, 3*time.Second, "one notice per outsider", func() (bool, string) {
		notices := testenv.BotNotices(t, alice, room, tr.BotID())
		for _, o := range []*mautrix.Client{o0, o1, o2, o3} {
			n := 0
			for _, text := range notices {
				if strings.Contains(text, o.UserID.String()) {
					n++
				}
			}
			if n != 1 {
				return false, fmt.Sprintf("%s: %d notices", o.UserID, n)
			}
		}
		return true, ""
	})
	st, err := store.Open(ctx, tr.Config.Database.Type, tr.Config.Database.URI, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if rep, err := st.VerifyAudit(ctx); err != nil || !rep.OK() {
		t.Errorf("audit chain after the failovers: %+v, %v", rep, err)
	}
	if !strings.Contains(trust.Tail(b.log, 1<<20), "No longer leading") {
		t.Errorf("the resumed process did not say it stopped leading:\n%s", trust.Tail(b.log, 3000))
	}
}

// peer is one caldicott process of the pair.
type peer struct {
	name string
	port int
	log  string
	cmd  *exec.Cmd
}

// startPeer runs the binary with tr's config, listening on port.
func startPeer(t *testing.T, bin string, tr *trust.Trust, name string, port int) *peer {
	t.Helper()
	dir := t.TempDir()
	p := &peer{name: name, port: port, log: filepath.Join(dir, "caldicott.log")}
	front := fmt.Sprintf("port: %d,", tr.Config.AppService.Port)
	yml := strings.Replace(tr.YAML, front, fmt.Sprintf("port: %d,", p.port), 1)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "-c", cfg)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := p.cmd
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			t.Logf("caldicott %s log:\n%s", name, trust.Tail(p.log, 6000))
			if d := os.Getenv("CALDICOTT_TEST_LOGS"); d != "" {
				trust.KeepLog(t, p.log, filepath.Join(d, fmt.Sprintf("%s-%s-%d.log", t.Name(), name, cmd.Process.Pid)))
			}
		}
	})
	return p
}

func (p *peer) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, p.name, err)
	}
}

// waitRole waits until p's /ready says role, and returns when it did.
func waitRole(t *testing.T, p *peer, role string, within time.Duration) time.Time {
	t.Helper()
	var at time.Time
	client := http.Client{Timeout: time.Second}
	testenv.Eventually(t, within, p.name+" is "+role, func() (bool, string) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", p.port))
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		at = time.Now()
		return strings.HasPrefix(string(body), role+"\n"), string(body)
	})
	return at
}

var txnMetric = regexp.MustCompile(`(?m)^caldicott_transactions_total\{[^}]*\} (\S+)$`)

// transactions is how many transactions p has answered.
func transactions(t *testing.T, p *peer) float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.port))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var n float64
	for _, m := range txnMetric.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += v
	}
	return n
}

// roundRobin listens on port and sends each request to the backends in
// turn, passing over one that does not answer within two seconds (dead or
// frozen), as a load balancer with health checks would. It returns how
// many requests it has forwarded.
func roundRobin(t *testing.T, port int, backends ...int) *atomic.Int64 {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	var next, sent atomic.Int64
	client := &http.Client{Timeout: 2 * time.Second}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		start := int(next.Add(1))
		for i := range backends {
			port := backends[(start+i)%len(backends)]
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, fmt.Sprintf("http://127.0.0.1:%d%s", port, r.URL.RequestURI()), bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			sent.Add(1)
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, "no backend answered", http.StatusBadGateway)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &sent
}
