package adminweb_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/caldicott/caldicott/appservice/adminweb"
	ct "github.com/caldicott/caldicott/compliance/compliancetest"
)

const openAPIPath = "../../docs/openapi.yaml"

type openAPI struct {
	OpenAPI string `yaml:"openapi"`
	Servers []struct {
		URL string `yaml:"url"`
	} `yaml:"servers"`
	Paths      map[string]map[string]operation `yaml:"paths"`
	Components struct {
		Schemas    map[string]*schema `yaml:"schemas"`
		Parameters map[string]param   `yaml:"parameters"`
	} `yaml:"components"`
}

type operation struct {
	Scope      string  `yaml:"x-caldicott-scope"`
	ServedBy   string  `yaml:"x-served-by"`
	Parameters []param `yaml:"parameters"`
	Responses  map[string]struct {
		Ref     string `yaml:"$ref"`
		Content map[string]struct {
			Schema *schema `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"responses"`
}

type param struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

type schema struct {
	Ref                  string             `yaml:"$ref"`
	Type                 string             `yaml:"type"`
	Properties           map[string]*schema `yaml:"properties"`
	Items                *schema            `yaml:"items"`
	AllOf                []*schema          `yaml:"allOf"`
	AdditionalProperties any                `yaml:"additionalProperties"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Servers) != 1 || doc.Servers[0].URL != adminweb.APIPrefix {
		t.Fatalf("docs/openapi.yaml: openapi %q, servers %v; want 3.x and %s", doc.OpenAPI, doc.Servers, adminweb.APIPrefix)
	}
	return doc
}

// TestOpenAPIMatchesTheRoutes: every endpoint registered is documented
// with its method, scope and path parameters; every documented operation
// is registered here, or says it is served by the appservice and is.
func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]adminweb.Route{}
	for _, rt := range adminweb.Routes() {
		if rt.Scope == "" {
			continue // a page, not the API
		}
		path := strings.TrimPrefix(rt.Path, adminweb.APIPrefix)
		served[strings.ToLower(rt.Method)+" "+path] = rt
		op, ok := doc.Paths[path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is served but not documented", rt.Method, rt.Path)
			continue
		}
		if op.Scope != rt.Scope {
			t.Errorf("%s %s: documented scope %q, served with %q", rt.Method, path, op.Scope, rt.Scope)
		}
		if got, want := pathParams(doc, op), templateParams(path); got != want {
			t.Errorf("%s %s: documented path parameters %q, the route has %q", rt.Method, path, got, want)
		}
	}
	adminAPI, err := os.ReadFile("../adminapi.go")
	if err != nil {
		t.Fatal(err)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if _, ok := served[method+" "+path]; ok {
				continue
			}
			// The appservice routes it with chi: its method and path apart.
			pattern := fmt.Sprintf("http.Method%s, %q", strings.ToUpper(method[:1])+method[1:], adminweb.APIPrefix+path)
			if op.ServedBy != "appservice" || !strings.Contains(string(adminAPI), pattern) {
				t.Errorf("%s %s is documented but served by no one (not here, nor as %s in appservice/adminapi.go)", method, path, pattern)
			}
		}
	}
}

func pathParams(doc openAPI, op operation) string {
	var names []string
	for _, p := range op.Parameters {
		if p.Ref != "" {
			p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
		}
		if p.In == "path" {
			names = append(names, p.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func templateParams(path string) string {
	var names []string
	for _, m := range regexp.MustCompile(`\{([^}$]+)\}`).FindAllStringSubmatch(path, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// TestOpenAPIDescribesTheAnswers: every field of every JSON answer of the
// seeded trust is declared in the documented schema of that answer.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	doc := loadOpenAPI(t)
	h := seededServer(t)
	concrete := map[string]string{"{id}": url.PathEscape(ct.ClinicalOK), "{mxid}": ct.Alice}
	for path, ops := range doc.Paths {
		op, ok := ops["get"]
		if !ok || op.ServedBy != "" {
			continue
		}
		target := path
		for k, v := range concrete {
			target = strings.ReplaceAll(target, k, v)
		}
		code, body, hdr := apiGet(t, h, adminweb.APIPrefix+target+"?from=2026-05-01", "read export")
		if code != http.StatusOK {
			t.Errorf("%s: %d", target, code)
			continue
		}
		for ctype, c := range op.Responses["200"].Content {
			if !strings.HasPrefix(hdr.Get("Content-Type"), ctype) {
				t.Errorf("%s: answered %s, documented %s", path, hdr.Get("Content-Type"), ctype)
			}
			for i, line := range strings.Split(strings.TrimSpace(body), "\n") {
				var v any
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("%s line %d: %v", path, i+1, err)
				}
				for _, p := range undeclared(doc, c.Schema, v, "") {
					t.Errorf("%s: the answer's %s is not in the documented schema", path, p)
				}
			}
		}
	}
}

// undeclared lists the fields of v its schema does not declare.
func undeclared(doc openAPI, s *schema, v any, at string) []string {
	if s == nil {
		return []string{at + " (no schema)"}
	}
	if s.Ref != "" {
		return undeclared(doc, doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")], v, at)
	}
	switch v := v.(type) {
	case map[string]any:
		props := map[string]*schema{}
		collectProps(doc, s, props)
		var out []string
		for k, child := range v {
			if ps, ok := props[k]; ok {
				out = append(out, undeclared(doc, ps, child, at+"."+k)...)
			} else if s.AdditionalProperties == nil {
				out = append(out, at+"."+k)
			}
		}
		return out
	case []any:
		var out []string
		for i, child := range v {
			if s.Items == nil {
				return []string{at + "[] (no items schema)"}
			}
			out = append(out, undeclared(doc, s.Items, child, fmt.Sprintf("%s[%d]", at, i))...)
		}
		return out
	}
	return nil
}

func collectProps(doc openAPI, s *schema, into map[string]*schema) {
	if s.Ref != "" {
		s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	for k, p := range s.Properties {
		into[k] = p
	}
	for _, sub := range s.AllOf {
		collectProps(doc, sub, into)
	}
}
