package directory

import "strings"

// fixEntraPatch rewrites Entra ID's PATCH quirk — booleans sent as the
// strings "True"/"False" (documented by Microsoft for "active") — into JSON
// booleans before the SCIM library validates the request against the schema.
func fixEntraPatch(body map[string]any) {
	ops, _ := body["Operations"].([]any)
	for _, op := range ops {
		fixActive(op)
	}
}

// fixEntraResource does the same for a POST or PUT body: Entra ID sends
// "active" and the "primary" of roles and e-mails as strings too.
func fixEntraResource(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, sv := range x {
			if strings.EqualFold(k, "active") || strings.EqualFold(k, "primary") {
				if b, ok := scimBool(sv); ok {
					x[k] = b
					continue
				}
			}
			fixEntraResource(sv)
		}
	case []any:
		for _, item := range x {
			fixEntraResource(item)
		}
	}
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
