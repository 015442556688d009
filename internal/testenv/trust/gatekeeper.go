package trust

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/store"
)

// Front is a gatekeeper in front of a trust's Dendrite, in-process, as
// `caldicott gatekeeper` runs in front of a trust's: the users' clients
// talk to URL (testenv.Homeserver.ClientURL), while the bot and
// registration go to Dendrite directly. Federation arrives on Dendrite's
// TLS port, unless the gatekeeper stands there itself
// (Options.GatekeeperFederation: FederationURL).
type Front struct {
	// URL is the gatekeeper's address, the users' homeserver URL.
	URL string
	// FederationURL is its TLS listener on the server name's port, where
	// other servers' federation requests arrive; empty: Dendrite's own.
	FederationURL string
	// Metrics count its refusals.
	Metrics *gatekeeper.Metrics

	handler atomic.Pointer[http.Handler]
	mu      sync.Mutex
	// received is every request's method and path (with its query), in
	// order, for tests that show a client's traffic went through.
	received []string
	// dir is its own read-only handle on Caldicott's database (the staff
	// directory), as the subcommand opens one: opened when Caldicott first
	// starts, so Caldicott's migrations come first.
	dir *store.Store
	// stopWatch ends the running gatekeeper's watch of the federation view.
	stopWatch context.CancelFunc
	logPath   string
	log       zerolog.Logger
}

// maxReceived bounds what a Front remembers of the requests it received.
const maxReceived = 100_000

// Received counts the requests the gatekeeper received with this method
// whose path and query contain every one of parts.
func (f *Front) Received(method string, parts ...string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.received {
		m, uri, _ := strings.Cut(r, " ")
		if m == method && containsAll(uri, parts) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// startFront listens on host at once (so clients registered before Start
// are already pointed at it), with the rules of the config as it is now;
// Launch builds it again with the config as the test left it and the
// staff directory. With federation, it also stands on the server name's
// port with Dendrite's certificate, where Dendrite does not listen
// (Options.GatekeeperFederation).
func (tr *Trust) startFront(t testing.TB, host, dir string, federation bool) {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("gatekeeper listener: %v", err)
	}
	listeners := []net.Listener{ln}
	f := &Front{URL: "http://" + ln.Addr().String(), Metrics: gatekeeper.NewMetrics(prometheus.NewRegistry()), logPath: filepath.Join(dir, "gatekeeper.log")}
	if federation {
		listeners = append(listeners, tr.federationListener(t))
		f.FederationURL = "https://" + tr.HS.FederationAddr()
	}
	logFile, err := os.OpenFile(f.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.log = zerolog.New(logFile).With().Timestamp().Logger()
	tr.Gatekeeper = f
	tr.HS.ClientURL = f.URL
	settings := tr.frontHandler(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { done <- gatekeeper.Serve(ctx, l, http.HandlerFunc(f.serve), settings.Timeouts) }()
	}
	t.Cleanup(func() {
		cancel()
		f.stopWatch()
		for range listeners {
			if err := <-done; err != nil {
				t.Errorf("gatekeeper: %v", err)
			}
		}
		if f.dir != nil {
			f.dir.Close()
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("gatekeeper log:\n%s", Tail(f.logPath, 4000))
		}
	})
}

// federationListener is the server name's port, with Dendrite's own
// self-signed certificate (other servers do not check it:
// disable_tls_validation), as gatekeeper.tls_cert and tls_key serve it.
func (tr *Trust) federationListener(t testing.TB) net.Listener {
	t.Helper()
	raw, err := net.Listen("tcp", tr.HS.FederationAddr())
	if err != nil {
		t.Fatalf("gatekeeper federation listener: %v", err)
	}
	cert, key := tr.HS.TLSFiles()
	ln, err := gatekeeper.ListenTLS(raw, cert, key)
	if err != nil {
		raw.Close()
		t.Fatalf("gatekeeper federation listener: %v", err)
	}
	return ln
}

// serve records the request and hands it to the gatekeeper as now built.
func (f *Front) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if len(f.received) < maxReceived {
		f.received = append(f.received, r.Method+" "+r.URL.RequestURI())
	}
	f.mu.Unlock()
	(*f.handler.Load()).ServeHTTP(w, r)
}

// frontHandler builds the gatekeeper from the trust's config and puts it
// in the path; it returns the settings it was built with.
func (tr *Trust) frontHandler(t testing.TB) gatekeeper.Settings {
	t.Helper()
	f := tr.Gatekeeper
	settings, err := gatekeeper.SettingsFrom(tr.Config)
	if err != nil {
		t.Fatalf("gatekeeper settings: %v", err)
	}
	if f.dir != nil {
		// As the subcommand: the directory, the files retention deleted, the
		// federation view and the audit of refusals, all in the one store.
		settings.UseStore(f.dir)
	}
	gk := gatekeeper.New(settings, f.Metrics, f.log)
	if f.stopWatch != nil {
		f.stopWatch()
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stopWatch = cancel
	go gk.Watch(ctx)
	var h http.Handler = gk.Handler()
	f.handler.Store(&h)
	return settings
}

// relaunchFront gives the gatekeeper the staff directory (the first time)
// and the config as it stands, once Caldicott has opened its database.
func (tr *Trust) relaunchFront(t testing.TB) {
	t.Helper()
	f := tr.Gatekeeper
	if f == nil {
		return
	}
	if f.dir == nil {
		st, err := store.Open(context.Background(), tr.Config.Database.Type, tr.Config.Database.URI, 2)
		if err != nil {
			t.Fatalf("gatekeeper: open the staff directory: %v", err)
		}
		f.dir = st
	}
	tr.frontHandler(t)
}
