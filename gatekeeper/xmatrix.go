package gatekeeper

import (
	"errors"
	"net/http"
	"strings"
)

// xMatrixOrigin reads the origin server from a federation request's
// X-Matrix Authorization headers. Only the origin is read: the signature is
// Dendrite's to verify, downstream. Several headers must agree on one
// origin, or the request could be judged as one server and served as another.
func xMatrixOrigin(h http.Header) (string, error) {
	var origin string
	for _, v := range h.Values("Authorization") {
		scheme, params, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok || !strings.EqualFold(scheme, "X-Matrix") {
			continue
		}
		o := xMatrixParams(params)["origin"]
		if o == "" {
			return "", errors.New("X-Matrix authorization without an origin")
		}
		// Dendrite reads the header with gomatrixserverlib, which splits on
		// every comma, ignores quotes and keeps the last origin. A header the
		// two readings disagree on would be judged as one server and served
		// as another: it is refused.
		if dendriteOrigin(v) != o {
			return "", errors.New("X-Matrix authorization read two ways (its origin is ambiguous)")
		}
		if origin != "" && o != origin {
			return "", errors.New("X-Matrix authorizations name different origins")
		}
		origin = o
	}
	if origin == "" {
		return "", errors.New("no X-Matrix authorization")
	}
	return origin, nil
}

// xMatrixParams splits `origin="a",key="ed25519:1",sig="…"` into its
// parameters; values may be quoted (with backslash escapes) or bare.
// A parameter named twice counts as unreadable (empty).
func xMatrixParams(s string) map[string]string {
	out := map[string]string{}
	seen := map[string]bool{}
	for s = strings.TrimSpace(s); s != ""; {
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(name))
		var value string
		value, s = xMatrixValue(strings.TrimLeft(rest, " \t"))
		if seen[name] {
			out[name] = ""
		} else {
			out[name] = value
		}
		seen[name] = true
		s = strings.TrimLeft(strings.TrimSpace(s), ",")
		s = strings.TrimSpace(s)
	}
	return out
}

// xMatrixValue reads one value from the start of s and returns the rest.
func xMatrixValue(s string) (value, rest string) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s, ',')
		if end < 0 {
			return strings.TrimSpace(s), ""
		}
		return strings.TrimSpace(s[:end]), s[end:]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return "", "" // unterminated: unreadable
}

// dendriteOrigin is the origin Dendrite reads from one Authorization
// header: gomatrixserverlib's fclient.ParseAuthorization (the version in
// Dendrite v0.15.2) splits the parameters on every comma, ignoring quotes,
// trims quotes from each value and keeps the last origin. Restated here
// rather than imported: fclient brings a dozen modules for ten lines.
func dendriteOrigin(header string) string {
	scheme, params, ok := strings.Cut(header, " ")
	if !ok || scheme != "X-Matrix" {
		return ""
	}
	var origin string
	for _, data := range strings.Split(params, ",") {
		name, value, ok := strings.Cut(data, "=")
		if ok && strings.TrimSpace(name) == "origin" {
			origin = strings.Trim(strings.TrimSpace(value), `"`)
		}
	}
	return origin
}
