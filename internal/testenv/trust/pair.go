package trust

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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds cmd/caldicott once per test process with the failpoint
// tag: a binary that kills itself (SIGKILL) at the step CALDICOTT_FAILPOINT
// names, and runs as an ordinary caldicott when it names none.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "caldicott-failpoint-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "caldicott")
		cmd := exec.Command("go", "build", "-tags", "goolm,failpoint", "-o", binPath, "./cmd/caldicott")
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build failpoint binary: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// Peer is one caldicott process of a pair sharing one PostgreSQL.
type Peer struct {
	Name string
	Port int
	Log  string
	Cmd  *exec.Cmd
}

// StartPeer runs bin with tr's config as its own process, listening on
// port; env is added to the process's environment (a failpoint). It is
// killed at the test's end, and its log shown if the test failed.
func StartPeer(t testing.TB, bin string, tr *Trust, name string, port int, env ...string) *Peer {
	t.Helper()
	dir := t.TempDir()
	p := &Peer{Name: name, Port: port, Log: filepath.Join(dir, "caldicott.log")}
	front := fmt.Sprintf("port: %d,", tr.Config.AppService.Port)
	yml := strings.Replace(tr.YAML, front, fmt.Sprintf("port: %d,", p.Port), 1)
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(p.Log)
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd = exec.Command(bin, "-c", cfg)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = logFile, logFile
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := p.Cmd
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			t.Logf("caldicott %s log:\n%s", name, Tail(p.Log, 6000))
			if d := os.Getenv("CALDICOTT_TEST_LOGS"); d != "" {
				KeepLog(t, p.Log, filepath.Join(d, fmt.Sprintf("%s-%s-%d.log", t.Name(), name, cmd.Process.Pid)))
			}
		}
	})
	return p
}

// Signal sends sig to the peer's process.
func (p *Peer) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, p.Name, err)
	}
}

// WaitRole waits until p's /ready says role, and returns when it did.
func (p *Peer) WaitRole(t testing.TB, role string, within time.Duration) time.Time {
	t.Helper()
	var at time.Time
	testenv.Eventually(t, within, p.Name+" is "+role, func() (bool, string) {
		got, err := p.Role()
		at = time.Now()
		if err != nil {
			return false, err.Error()
		}
		return got == role, got
	})
	return at
}

var readyClient = http.Client{Timeout: time.Second}

// Role is the first line of p's /ready: leader, standby, or why not ready.
func (p *Peer) Role() (string, error) {
	resp, err := readyClient.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", p.Port))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	role, _, _ := strings.Cut(string(body), "\n")
	return role, nil
}

var txnMetric = regexp.MustCompile(`(?m)^caldicott_transactions_total\{[^}]*\} (\S+)$`)

// Transactions is how many transactions p has answered.
func (p *Peer) Transactions() float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.Port))
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

// RoundRobin listens on port and sends each request to the backends in
// turn, passing over one that does not answer within two seconds (dead or
// frozen), as a load balancer with health checks would. It returns how
// many requests it has forwarded.
func RoundRobin(t testing.TB, port int, backends ...int) *atomic.Int64 {
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
