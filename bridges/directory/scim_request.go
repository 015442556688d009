package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

// Bounds on one SCIM request. An identity provider sends one person per
// request; anything near these is not a person's record.
const (
	// maxSCIMBody bounds one request body.
	maxSCIMBody = 1 << 20
	// maxSCIMValue bounds one string value (an address, a name).
	maxSCIMValue = 1024
	// maxSCIMItems bounds a multi-valued attribute and a PATCH's operations.
	maxSCIMItems = 100
)

// knownAttributes maps every attribute name Caldicott accepts (lower case)
// to its sub-attributes (nil for a simple one): the core User schema, the
// common attributes and, under its URI, the enterprise extension.
var knownAttributes, knownEnterprise = func() (map[string]map[string]bool, map[string]map[string]bool) {
	core := attributeNames(schema.CoreUserSchema().Attributes)
	for _, common := range []string{"schemas", "id", "externalid", "meta"} {
		core[common] = nil
	}
	core[strings.ToLower(enterpriseURI)] = nil
	return core, attributeNames(schema.ExtensionEnterpriseUser().Attributes)
}()

func attributeNames(attrs schema.Attributes) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(attrs))
	for _, a := range attrs {
		var subs map[string]bool
		for _, s := range a.SubAttributes() {
			if subs == nil {
				subs = map[string]bool{}
			}
			subs[strings.ToLower(s.Name())] = true
		}
		out[strings.ToLower(a.Name())] = subs
	}
	return out
}

// checkSCIMRequest refuses, before the SCIM library or Caldicott reads
// them, bodies that are too large, name attributes Caldicott does not know
// or carry values no person's record has, each with a SCIM error that says
// what is wrong; nothing of such a request is stored. It also smooths over
// Entra ID's PATCH quirk.
func checkSCIMRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodDelete {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSCIMBody))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeSCIMError(w, scimerrors.ScimError{Status: http.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("the request body is over %d bytes; send one person per request. Nothing was changed.", maxSCIMBody)})
			return
		}
		if err != nil {
			writeSCIMError(w, scimerrors.ScimErrorInvalidSyntax)
			return
		}
		var body map[string]any
		if json.Unmarshal(raw, &body) == nil {
			problem := ""
			if r.Method == http.MethodPatch {
				problem = checkPatch(body)
				fixEntraPatch(body)
			} else {
				problem = checkResource(body)
				fixEntraResource(body)
			}
			if problem != "" {
				e := scimerrors.ScimErrorInvalidValue
				e.Detail = problem + ". Nothing was changed."
				writeSCIMError(w, e)
				return
			}
			if fixed, err := json.Marshal(body); err == nil {
				raw = fixed
			}
		}
		// A body that is not JSON goes on: the library answers invalidSyntax.
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.ContentLength = int64(len(raw))
		next.ServeHTTP(w, r)
	})
}

// writeSCIMError answers with a SCIM error body, as the library would.
func writeSCIMError(w http.ResponseWriter, e scimerrors.ScimError) {
	raw, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(raw)
}

// checkResource says what is wrong with a POST or PUT body, or "".
func checkResource(body map[string]any) string {
	for k, v := range body {
		subs, ok := knownAttributes[strings.ToLower(k)]
		if !ok {
			return unknownAttribute(k)
		}
		if strings.EqualFold(k, enterpriseURI) {
			ext, isMap := v.(map[string]any)
			if !isMap {
				return fmt.Sprintf("%s must be an object", enterpriseURI)
			}
			for ek, ev := range ext {
				esubs, ok := knownEnterprise[strings.ToLower(ek)]
				if !ok {
					return unknownAttribute(enterpriseURI + ":" + ek)
				}
				if p := checkValue(enterpriseURI+":"+ek, ev, esubs); p != "" {
					return p
				}
			}
			continue
		}
		if p := checkValue(k, v, subs); p != "" {
			return p
		}
	}
	return ""
}

// checkValue checks one attribute's value: its length, its number of
// values, and the names of a complex value's sub-attributes.
func checkValue(name string, v any, subs map[string]bool) string {
	switch x := v.(type) {
	case string:
		if len(x) > maxSCIMValue {
			return fmt.Sprintf("%s is %d bytes long; at most %d are accepted", shortName(name), len(x), maxSCIMValue)
		}
	case []any:
		if len(x) > maxSCIMItems {
			return fmt.Sprintf("%s has %d values; at most %d are accepted", shortName(name), len(x), maxSCIMItems)
		}
		for _, item := range x {
			if p := checkValue(name, item, subs); p != "" {
				return p
			}
		}
	case map[string]any:
		for k, sv := range x {
			if subs != nil && !subs[strings.ToLower(k)] {
				return unknownAttribute(name + "." + k)
			}
			if p := checkValue(name+"."+k, sv, nil); p != "" {
				return p
			}
		}
	}
	return ""
}

// checkPatch says what is wrong with a PATCH body, or "".
func checkPatch(body map[string]any) string {
	ops, _ := body["Operations"].([]any)
	if len(ops) > maxSCIMItems {
		return fmt.Sprintf("the PATCH has %d operations; at most %d are accepted", len(ops), maxSCIMItems)
	}
	for _, op := range ops {
		m, _ := op.(map[string]any)
		path, _ := m["path"].(string)
		if path == "" {
			// A path-less add or replace names attributes as the value's keys.
			values, _ := m["value"].(map[string]any)
			for k, v := range values {
				if p := checkPatchPath(k, v); p != "" {
					return p
				}
			}
			continue
		}
		if p := checkPatchPath(path, m["value"]); p != "" {
			return p
		}
	}
	return ""
}

// checkPatchPath checks a PATCH path ("title", "name.givenName",
// `emails[type eq "work"].value`, "<enterprise URI>:department") and its value.
func checkPatchPath(path string, v any) string {
	if len(path) > maxSCIMValue {
		return fmt.Sprintf("a PATCH path is %d bytes long; at most %d are accepted", len(path), maxSCIMValue)
	}
	attrs, rest := knownAttributes, path
	if len(path) > len(enterpriseURI) && strings.EqualFold(path[:len(enterpriseURI)+1], enterpriseURI+":") {
		attrs, rest = knownEnterprise, path[len(enterpriseURI)+1:]
	}
	top := rest
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		top = rest[:i]
	}
	subs, ok := attrs[strings.ToLower(top)]
	if !ok {
		return unknownAttribute(path)
	}
	return checkValue(path, v, subs)
}

func unknownAttribute(name string) string {
	return fmt.Sprintf("unknown attribute %s: Caldicott accepts the SCIM core User schema and the enterprise extension (%s) only", shortName(name), enterpriseURI)
}

// shortName quotes an attribute name for an error, cut short: the name is
// the caller's own input and may be anything.
func shortName(name string) string {
	if len(name) > 80 {
		name = name[:80] + "…"
	}
	return fmt.Sprintf("%q", name)
}
