package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/caldicott/caldicott/internal/testenv"
)

// With -pair (make run PAIR=1), Trust A runs two Caldicotts on a
// throwaway PostgreSQL behind a tiny round-robin proxy at the address its
// registration names, for trying failover by hand: kill one, watch the
// other lead (GET /ready, !policy status). The pair listens on pairPorts;
// the proxy on the trust's own appservice port.
var pairPorts = [2]int{29351, 29352}

// pairAdmin are the pair's admin listeners (the demo's trusts use 29341
// and 29342).
var pairAdmin = [2]string{"127.0.0.1:29341", "127.0.0.1:29343"}

// pairConfigs rewrites Trust A's config for the pair: PostgreSQL instead
// of SQLite, process a listening on pairPorts[0] (and its admin pages on
// pairAdmin[0]), and a copy for process b (config-b.yaml) on the second
// of each. Only listen addresses differ, which the rules' fingerprint
// leaves out. The config is edited as YAML, not as text: generating the
// registration has already rewritten the file the demo first wrote.
func pairConfigs(t trust, pgURI string) error {
	path := filepath.Join(t.dir, "config.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, out := range []string{path, filepath.Join(t.dir, "config-b.yaml")} {
		var doc yaml.Node
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if kind := yamlValue(&doc, "database", "type"); kind == nil || kind.Value != "sqlite" {
			return fmt.Errorf("no SQLite database section to replace in %s", path)
		}
		for _, set := range []struct{ key, sub, value string }{
			{"database", "type", "postgres"}, {"database", "uri", pgURI},
			{"appservice", "port", fmt.Sprint(pairPorts[i])}, {"admin_api", "listen", pairAdmin[i]},
		} {
			v := yamlValue(&doc, set.key, set.sub)
			if v == nil {
				return fmt.Errorf("no %s.%s in %s", set.key, set.sub, path)
			}
			v.Value = set.value
		}
		edited, err := yaml.Marshal(&doc)
		if err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
		if err := os.WriteFile(out, edited, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// yamlValue is the scalar at section.key in a YAML document, or nil.
func yamlValue(doc *yaml.Node, section, key string) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	node := doc.Content[0]
	for _, name := range []string{section, key} {
		if node.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == name {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		node = next
	}
	if node.Kind != yaml.ScalarNode {
		return nil
	}
	return node
}

// roundRobin sends each request to the next backend in turn, and to the
// other when one cannot be reached (a killed process), as a load balancer
// with retries would; the body is kept to be sent again.
type roundRobin struct {
	backends []string
	next     atomic.Uint64
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	first := rr.next.Add(1)
	for i := range rr.backends {
		target := rr.backends[(first+uint64(i))%uint64(len(rr.backends))]
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			break
		}
		req.Header = r.Header.Clone()
		resp, err := proxyClient.Do(req)
		if err != nil {
			continue // that process is down: the other
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no Caldicott answered", http.StatusBadGateway)
}

// proxyClient gives up on a frozen process well before Dendrite gives up
// on the proxy.
var proxyClient = &http.Client{Timeout: 10 * time.Second}

// startProxy listens on the trust's appservice port in front of the pair.
func startProxy(t trust) *http.Server {
	rr := &roundRobin{}
	for _, p := range pairPorts {
		rr.backends = append(rr.backends, fmt.Sprintf("http://127.0.0.1:%d", p))
	}
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", t.asPort), Handler: rr, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, "demo: round-robin proxy:", err)
		}
	}()
	return srv
}

// throwawayPostgres starts the test suite's throwaway PostgreSQL cluster
// for the pair and returns a fresh database's URI; testenv.StopPostgres
// removes it. The cluster is the tests' helper, which reports through a
// testing.TB: demoTB turns its failures into an error.
func throwawayPostgres() (uri string, err error) {
	tb := &demoTB{}
	defer func() {
		if r := recover(); r != nil {
			if tb.err == nil {
				panic(r)
			}
			err = tb.err
		}
	}()
	return testenv.Postgres(tb), nil
}

// demoTB is the testing.TB the throwaway cluster's helper needs: any
// failure or skip stops it (by a panic throwawayPostgres recovers) with
// the message as the error. Any other method is not expected to be called.
type demoTB struct {
	testing.TB
	err error
}

func (d *demoTB) Helper() {}
func (d *demoTB) Fatal(args ...any) {
	d.err = fmt.Errorf("PostgreSQL: %s", fmt.Sprint(args...))
	panic(d.err)
}
func (d *demoTB) Fatalf(format string, args ...any) { d.Fatal(fmt.Sprintf(format, args...)) }
func (d *demoTB) Skipf(format string, args ...any)  { d.Fatal(fmt.Sprintf(format, args...)) }

// setUpPair makes Trust A a pair: a throwaway PostgreSQL, the two configs
// and the proxy in front (which the caller closes).
func setUpPair(t *trust) (*http.Server, error) {
	uri, err := throwawayPostgres()
	if err != nil {
		return nil, err
	}
	if err := pairConfigs(*t, uri); err != nil {
		return nil, err
	}
	t.pair = true
	return startProxy(*t), nil
}

func printPairInstructions() {
	fmt.Printf(`
Trust A runs as a pair on a throwaway PostgreSQL (make run PAIR=1):
  process a: http://127.0.0.1:%d   (.demo-pair/trust-a/config.yaml, caldicott.log; admin pages %s)
  process b: http://127.0.0.1:%d   (config-b.yaml, caldicott-b.log; admin pages %s)
  Dendrite sends transactions to a round-robin proxy at http://127.0.0.1:29331.
  Who leads: curl http://127.0.0.1:%d/ready (and :%d), or !policy status in
  any room. Kill the leader (kill -9 <pid>, pids in ps) and the other leads
  within about 7 s; the killed one is not restarted. State is thrown away
  when the demo stops. Everything above that names .demo/ is in .demo-pair/
  for this run, e.g. the API token:
    bin/caldicott admin token create -c .demo-pair/trust-a/config.yaml --name me --scope read
`, pairPorts[0], pairAdmin[0], pairPorts[1], pairAdmin[1], pairPorts[0], pairPorts[1])
}
