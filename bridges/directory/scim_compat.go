package directory

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxSCIMBody bounds one SCIM request body.
const maxSCIMBody = 1 << 20

// entraCompat rewrites Entra ID's PATCH quirk — booleans sent as the strings
// "True"/"False" (documented by Microsoft for "active") — into JSON booleans
// before the SCIM library validates the request against the schema.
func entraCompat(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxSCIMBody)
		if r.Method != http.MethodPatch {
			next.ServeHTTP(w, r)
			return
		}
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		var body map[string]any
		if json.Unmarshal(raw, &body) == nil {
			if ops, ok := body["Operations"].([]any); ok {
				for _, op := range ops {
					fixActive(op)
				}
				if fixed, err := json.Marshal(body); err == nil {
					raw = fixed
				}
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.ContentLength = int64(len(raw))
		next.ServeHTTP(w, r)
	})
}

func fixActive(op any) {
	m, ok := op.(map[string]any)
	if !ok {
		return
	}
	if path, _ := m["path"].(string); strings.EqualFold(path, "active") {
		if b, ok := scimBool(m["value"]); ok {
			m["value"] = b
		}
		return
	}
	if values, ok := m["value"].(map[string]any); ok {
		for k, v := range values {
			if strings.EqualFold(k, "active") {
				if b, ok := scimBool(v); ok {
					values[k] = b
				}
			}
		}
	}
}
