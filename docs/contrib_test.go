package docs

import (
	"encoding/json"
	"go/ast"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/caldicott/caldicott/internal/gosource"
)

// dashboard is contrib/grafana/caldicott.json, as far as these tests read it.
type dashboard struct {
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// scrapeSeries are the series Prometheus writes itself for every target,
// which no code of ours registers.
var scrapeSeries = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

// TestGrafanaDashboardUsesRegisteredMetrics fails when a panel of the
// Grafana dashboard queries a metric no code registers (renamed, removed,
// misspelt): such a panel shows "No data", which reads as "all quiet".
func TestGrafanaDashboardUsesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "contrib", "grafana", "caldicott.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("the dashboard is not JSON Grafana can import: %v", err)
	}
	registered := registeredMetrics(t)
	used := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tgt := range p.Targets {
			names := metricNames(tgt.Expr)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no metric", p.Title, tgt.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !registered[n] && !slices.Contains(scrapeSeries, n) {
					t.Errorf("panel %q queries %s, which no code registers", p.Title, n)
				}
			}
		}
	}
	if len(used) < 10 {
		t.Fatalf("the dashboard's queries name %d metrics; its panels or this test's reading of them were lost", len(used))
	}
	var unshown []string
	for n := range registered {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if !used[n] && !used[base] && !used[base+"_bucket"] && !used[base+"_sum"] && !used[base+"_count"] {
			unshown = append(unshown, n)
		}
	}
	sort.Strings(unshown)
	if len(unshown) > 0 {
		t.Logf("registered but on no panel (consider adding them): %s", strings.Join(unshown, ", "))
	}
}

// TestMetricNamesOfQueries pins how metric names are read out of PromQL.
func TestMetricNamesOfQueries(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (kind, outcome) (rate(caldicott_actions_total{job=~"$job",outcome!="done"}[$__rate_interval]))`, []string{"caldicott_actions_total"}},
		{`histogram_quantile(0.95, sum by (le) (rate(x_seconds_bucket{a="rate(b)"}[1h])))`, []string{"x_seconds_bucket"}},
		{`sum(rate(a_sum[1h])) / sum(rate(a_count[1h])) > bool 0 or on (job) up`, []string{"a_sum", "a_count", "up"}},
		{`max by (state) (g{job=~"$gatekeeper_job"}) == 1 unless ignoring (state) h offset 5m`, []string{"g", "h"}},
		{`count without (instance) (m)`, []string{"m"}},
		{`vector(1)`, nil},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVariable = regexp.MustCompile(`\$\{?\w+\}?`)
	promOffset   = regexp.MustCompile(`\boffset\s+-?\w+`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promKeywords = []string{"and", "or", "unless", "bool", "inf", "nan", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
)

// metricNames lists, in order of first use, the metrics a PromQL
// expression selects: identifiers left once strings, label matchers,
// ranges, groupings, offsets and dashboard variables are taken out, less
// functions (followed by a parenthesis) and keywords.
func metricNames(expr string) []string {
	for _, re := range []*regexp.Regexp{promString, promMatchers, promRange, promGrouping, promOffset, promVariable} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var out []string
	for _, m := range promIdent.FindAllStringSubmatch(expr, -1) {
		name := strings.TrimSpace(strings.TrimSuffix(m[0], "("))
		if m[1] != "" || slices.Contains(promKeywords, strings.ToLower(name)) || slices.Contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// registeredMetrics is every metric name the production code gives a
// prometheus.*Opts literal, with the series a histogram or a summary adds.
// A name the test cannot read as a constant fails it: it would otherwise
// be missing from the set and every panel using it would be refused.
func registeredMetrics(t *testing.T) map[string]bool {
	tree := gosource.Module(t)
	out := map[string]bool{}
	for _, f := range tree.Files {
		prom := f.ImportName("github.com/prometheus/client_golang/prometheus")
		if prom == "" {
			continue
		}
		ast.Inspect(f.AST, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || !isIdent(sel.X, prom) || !strings.HasSuffix(sel.Sel.Name, "Opts") {
				return true
			}
			parts := map[string]string{}
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				key, _ := kv.Key.(*ast.Ident)
				if !ok || key == nil || (key.Name != "Name" && key.Name != "Namespace" && key.Name != "Subsystem") {
					continue
				}
				v, ok := kv.Value.(*ast.BasicLit)
				if !ok || v.Kind != token.STRING {
					t.Errorf("%s: prometheus.%s's %s is not a string literal; this test cannot read it", tree.Where(f, kv), sel.Sel.Name, key.Name)
					continue
				}
				parts[key.Name], _ = strconv.Unquote(v.Value)
			}
			name := joinNonEmpty(parts["Namespace"], parts["Subsystem"], parts["Name"])
			if parts["Name"] == "" {
				t.Errorf("%s: prometheus.%s without a Name", tree.Where(f, lit), sel.Sel.Name)
				return true
			}
			out[name] = true
			switch sel.Sel.Name {
			case "HistogramOpts":
				out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
			case "SummaryOpts":
				out[name+"_sum"], out[name+"_count"] = true, true
			}
			return true
		})
	}
	if len(out) < 10 {
		t.Fatalf("found %d registered metrics in the code; the reading of prometheus.*Opts is broken", len(out))
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func joinNonEmpty(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "_")
}

// hardening are the [Service] settings each unit in contrib/systemd must
// carry: a value, or "" for a setting that must be present and empty
// (CapabilityBoundingSet= drops every capability).
var hardening = map[string]string{
	"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
	"PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
	"AmbientCapabilities": "", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
	"ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
	"ProtectHostname": "yes", "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
	"RestrictSUIDSGID": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
	"SystemCallArchitectures": "native", "UMask": "0077", "User": "caldicott",
	"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
}

// units are the systemd units shipped, with the command each must run and
// its restart policy: the gatekeeper carries every request, so it always
// comes back.
var units = []struct{ file, exec, restart string }{
	{"caldicott.service", "/usr/local/bin/caldicott -c /etc/caldicott/config.yaml", "on-failure"},
	{"caldicott-gatekeeper.service", "/usr/local/bin/caldicott gatekeeper -c /etc/caldicott/config.yaml", "always"},
}

// TestSystemdUnitsAreHardened fails when a unit in contrib/systemd loses a
// sandboxing setting, may write anywhere but its state directory, or runs
// the wrong command; where systemd-analyze is installed, the units must
// also pass `systemd-analyze verify` and rate at most 2.0 on its exposure
// scale (`systemd-analyze security`, 0 best, 10 worst).
func TestSystemdUnitsAreHardened(t *testing.T) {
	dir := filepath.Join("..", "contrib", "systemd")
	for _, u := range units {
		raw, err := os.ReadFile(filepath.Join(dir, u.file))
		if err != nil {
			t.Fatal(err)
		}
		svc := serviceSection(string(raw))
		for key, want := range hardening {
			got, ok := svc[key]
			if !ok || got[len(got)-1] != want {
				t.Errorf("%s: %s=%q, want %s=%s", u.file, key, got, key, want)
			}
		}
		if f := svc["SystemCallFilter"]; !slices.Contains(f, "@system-service") {
			t.Errorf("%s: SystemCallFilter=%q does not allow only @system-service", u.file, f)
		}
		if w := svc["ReadWritePaths"]; !slices.Equal(w, []string{"/var/lib/caldicott"}) {
			t.Errorf("%s: ReadWritePaths=%q, want the state directory /var/lib/caldicott only", u.file, w)
		}
		if e := svc["ExecStart"]; !slices.Equal(e, []string{u.exec}) {
			t.Errorf("%s: ExecStart=%q, want %q", u.file, e, u.exec)
		}
		if r := svc["Restart"]; !slices.Equal(r, []string{u.restart}) {
			t.Errorf("%s: Restart=%q, want %s", u.file, r, u.restart)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; the settings were checked, not the units as systemd reads them")
	}
	verifyWithSystemd(t, analyze, dir)
}

// verifyWithSystemd runs systemd-analyze on copies of the units whose
// binary is this test's own (verify refuses a unit whose ExecStart does not
// exist, and caldicott is not installed where the tests run).
func verifyWithSystemd(t *testing.T, analyze, dir string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var paths []string
	for _, u := range units {
		raw, err := os.ReadFile(filepath.Join(dir, u.file))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, u.file)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/caldicott", self)), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, p := range paths {
		out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", "--no-pager", p).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze security %s: exposure above 2.0 (%v):\n%s", filepath.Base(p), err, out)
		}
	}
}

// serviceSection reads a unit's [Service] settings; a key written more
// than once keeps every value in order (an empty one resets the list, as
// systemd does for list settings).
func serviceSection(unit string) map[string][]string {
	out := map[string][]string{}
	in := false
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			in = line == "[Service]"
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !in || !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if prior := out[key]; value == "" || (len(prior) == 1 && prior[0] == "") {
			out[key] = []string{value}
			continue
		}
		out[key] = append(out[key], value)
	}
	return out
}
