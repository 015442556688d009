package gatekeeper

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// routeOnEscapedPath routes on the path as the client wrote it (room IDs
// may come percent-encoded), as Dendrite does (its router uses the encoded
// path), so a path the gatekeeper does not recognise is one Dendrite does
// not serve either. Trailing slashes are dropped for routing only; the
// request goes upstream exactly as it came.
func routeOnEscapedPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			p := strings.TrimRight(r.URL.EscapedPath(), "/")
			if p == "" {
				p = "/"
			}
			rctx.RoutePath = p
		}
		next.ServeHTTP(w, r)
	})
}

// pathParam is a route parameter, percent-decoded.
func pathParam(r *http.Request, name string) (string, *Refusal) {
	v, err := url.PathUnescape(chi.URLParam(r, name))
	if err != nil {
		return "", &Refusal{Status: http.StatusBadRequest, ErrCode: "M_INVALID_PARAM", Reason: "The request's path is not correctly encoded.", Rule: "bad_path"}
	}
	return v, nil
}
