package testenv

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// FHIRServer is a real FHIR R4 server: Medplum's FhirRouter over an in-memory
// repository, validating what it is sent (e2e/fhir/server.mjs).
type FHIRServer struct {
	// BaseURL is the FHIR base, http://127.0.0.1:<port>/fhir/R4.
	BaseURL string
	// Token is the bearer token the server demands.
	Token   string
	root    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

var (
	fhirOnce sync.Once
	fhirDir  string
	fhirErr  error
)

// StartFHIR starts a FHIR server with an empty repository and a random
// bearer token, stopped when the test ends. Its npm dependencies are
// installed once, outside the repository (see fhirInstall).
func StartFHIR(t testing.TB) (baseURL string, ctl *FHIRServer) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		Unavailable(t, "node is not installed")
	}
	src := filepath.Join(RepoRoot(t), "e2e", "fhir")
	fhirOnce.Do(func() { fhirDir, fhirErr = fhirInstall(src) })
	if fhirErr != nil {
		Unavailable(t, "install the FHIR server: %v", fhirErr)
	}
	script, err := placeScript(fhirDir, filepath.Join(src, "server.mjs"))
	if err != nil {
		t.Fatalf("FHIR server script: %v", err)
	}

	s := &FHIRServer{Token: randomHex(t), logPath: filepath.Join(t.TempDir(), "fhir.log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	s.cmd = exec.Command("node", script, "0")
	s.cmd.Dir = fhirDir
	s.cmd.Env = append(os.Environ(), "FHIR_TOKEN="+s.Token)
	s.cmd.Stderr = logFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start the FHIR server: %v", err)
	}
	ready := make(chan string, 1)
	go func() {
		// The first line names the base URL; the pipe is drained after it
		// so the server never blocks writing.
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			ready <- sc.Text()
		}
		close(ready)
		_, _ = io.Copy(io.Discard, stdout)
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.stop)

	// Indexing the R4 definitions takes a few seconds, more on a busy machine.
	select {
	case line, ok := <-ready:
		base, found := strings.CutPrefix(line, "FHIR ")
		if !ok || !found {
			t.Fatalf("the FHIR server did not start:\n%s", tailFile(s.logPath, 4000))
		}
		s.BaseURL = base
		s.root = strings.TrimSuffix(base, "/fhir/R4")
	case <-time.After(90 * time.Second):
		t.Fatalf("the FHIR server did not say it was ready in 90s:\n%s", tailFile(s.logPath, 4000))
	}
	return s.BaseURL, s
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// stop ends the server; calling it twice is harmless.
func (s *FHIRServer) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// Down makes the server answer every FHIR request 503 until Up.
func (s *FHIRServer) Down(t testing.TB) { t.Helper(); s.control(t, "down") }

// Up ends Down.
func (s *FHIRServer) Up(t testing.TB) { t.Helper(); s.control(t, "up") }

// LoseNextResponse makes the server store the next write and then cut the
// connection without answering: a response lost on its way back.
func (s *FHIRServer) LoseNextResponse(t testing.TB) { t.Helper(); s.control(t, "lose-next-response") }

// Log returns the end of the server's log, for failure messages.
func (s *FHIRServer) Log() string { return tailFile(s.logPath, 8000) }

func (s *FHIRServer) control(t testing.TB, what string) {
	t.Helper()
	resp, err := http.Post(s.root+"/__"+what, "", nil)
	if err != nil {
		t.Fatalf("FHIR server %s: %v", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("FHIR server %s: HTTP %d", what, resp.StatusCode)
	}
}

// Communication reads a stored Communication by id.
func (s *FHIRServer) Communication(t testing.TB, id string) fhir.Communication {
	t.Helper()
	c, err := fhir.UnmarshalCommunication(s.get(t, "/Communication/"+url.PathEscape(id)))
	if err != nil {
		t.Fatalf("read Communication/%s: %v", id, err)
	}
	return c
}

// Communications returns every stored Communication (up to 1,000), read
// without search parameters so that a test counts what is stored, not what
// the server's search matches.
func (s *FHIRServer) Communications(t testing.TB) []fhir.Communication {
	t.Helper()
	bundle, err := fhir.UnmarshalBundle(s.get(t, "/Communication?_count=1000"))
	if err != nil {
		t.Fatalf("search Communication: %v", err)
	}
	out := make([]fhir.Communication, 0, len(bundle.Entry))
	for _, e := range bundle.Entry {
		c, err := fhir.UnmarshalCommunication(e.Resource)
		if err != nil {
			t.Fatalf("search Communication: entry: %v", err)
		}
		out = append(out, c)
	}
	return out
}

func (s *FHIRServer) get(t testing.TB, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %v: %s", path, resp.StatusCode, err, body)
	}
	return body
}
