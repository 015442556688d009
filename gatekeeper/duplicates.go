package gatekeeper

import (
	"bytes"
	"encoding/json"
	"strings"
)

// hasDuplicateKeys reports whether any JSON object in body holds the same
// key twice, compared as Go's encoding/json compares field names (case
// folded). Readers disagree on which copy counts (Go's decoder takes the
// last, matching case-insensitively; others the first, exactly), so a body
// with both "user_id" copies, or "users" and "Users", could be judged by
// one and acted on by the other.
func hasDuplicateKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object  bool
		seen    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // end of input; validity was checked before
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if key, ok := tok.(string); ok {
				folded := strings.ToUpper(strings.ToLower(key))
				if top.seen[folded] {
					return true
				}
				top.seen[folded] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, seen: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object wants its next key.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}
