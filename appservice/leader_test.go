package appservice

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/config"
	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/store"
)

// Two Caldicotts on one SQLite file (no homeserver needed: the leader
// waits for one): one leads, the other stands by, its /ready says so, and
// when the leader stops cleanly it hands the lease over at once.
func TestSecondProcessStandsBy(t *testing.T) {
	db := filepath.Join(t.TempDir(), "caldicott.db")
	start := func(name string) (*Service, context.CancelFunc, chan struct{}) {
		svc, _, cancel, done := runOnSQLite(t, db, name, "", "")
		return svc, cancel, done
	}
	a, stopA, doneA := start("a")
	waitLeading(t, a, true)
	b, _, _ := start("b")
	// b stands by for several of its tries.
	for i := 0; i < 5; i++ {
		time.Sleep(300 * time.Millisecond)
		if b.Leading() || !a.Leading() {
			t.Fatalf("a leading %v, b leading %v; want a alone", a.Leading(), b.Leading())
		}
	}
	if code, body := ready(t, b); code != http.StatusServiceUnavailable || body != "standby\n" {
		t.Errorf("standby's /ready = %d %q", code, body)
	}
	// Lines on start-up and the homeserver may follow (no homeserver here).
	if code, body := ready(t, a); code != http.StatusOK || !strings.HasPrefix(body, "leader\nepoch 1\n") {
		t.Errorf("leader's /ready = %d %q", code, body)
	}
	if got := testutil.ToFloat64(b.Metrics().Leader); got != 0 {
		t.Errorf("standby's caldicott_leader = %v", got)
	}
	if got := testutil.ToFloat64(a.Metrics().Leader); got != 1 {
		t.Errorf("leader's caldicott_leader = %v", got)
	}
	stopA()
	<-doneA
	stopped := time.Now()
	waitLeading(t, b, true)
	// The lease handed over, b takes it at its next try (a third of 1s).
	if took := time.Since(stopped); took > 900*time.Millisecond {
		t.Errorf("b took %s to lead after a stopped cleanly; want at most one try", took)
	}
	if got := testutil.ToFloat64(b.Metrics().LeaderEpoch); got != 2 {
		t.Errorf("caldicott_leader_epoch after the handover = %v, want 2", got)
	}
}

func waitLeading(t *testing.T, s *Service, want bool) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, fmt.Sprintf("leading = %v", want), func() (bool, string) {
		return s.Leading() == want, fmt.Sprint(s.Leading())
	})
}

func ready(t *testing.T, s *Service) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ready", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

// Only a process on this host that has gone is taken over from early.
func TestGoneFromThisHost(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name")
	}
	dead := deadPID(t)
	tests := []struct {
		holder string
		gone   bool
	}{
		{fmt.Sprintf("%s/%d/ab", host, dead), true},
		{fmt.Sprintf("%s/%d/ab", host, os.Getpid()), false},  // this process
		{fmt.Sprintf("%s/%d/ab", host, os.Getppid()), false}, // alive
		{fmt.Sprintf("other-%s/%d/ab", host, dead), false},   // another host: only the lapse tells
		{fmt.Sprintf("%s/x/ab", host), false},
		{"", false},
	}
	for _, tt := range tests {
		if got := goneFromThisHost(tt.holder); got != tt.gone {
			t.Errorf("goneFromThisHost(%q) = %v, want %v", tt.holder, got, tt.gone)
		}
	}
}

// deadPID is the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Skip("cannot start /bin/true")
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

// runOnSQLite runs a Service (no homeserver needed: the leader waits for
// one) with a 1 s lease on the SQLite file db shared with others in the
// test; extra is added to its config, version (if set) is its Version.
// It is stopped at the test's end.
func runOnSQLite(t *testing.T, db, name, extra, version string) (*Service, *store.Store, context.CancelFunc, chan struct{}) {
	t.Helper()
	port := testenv.FreePort(t, "127.0.0.1")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
homeserver: {address: "http://127.0.0.1:1", domain: "trust-a.example"}
appservice: {address: "http://127.0.0.1:%d", port: %d, as_token: "as-token-0123456789abcdef0123456789abcdef", hs_token: "hs-token-0123456789abcdef0123456789abcdef"}
database: {type: sqlite, uri: %q}
trust: {name: "Trust A"}
ha: {lease: 1s}
%s`, port, port, db, extra)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.SQLite, db, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(cfg, st, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if version != "" {
		svc.Version = version
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return svc, st, cancel, done
}
