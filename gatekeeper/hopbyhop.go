package gatekeeper

import (
	"net/http"
	"net/textproto"
	"strings"
)

// dropConnectionHeaders removes the headers a request's Connection header
// names, before anything is judged. The proxy removes them on the way to
// Dendrite (they are hop-by-hop), so a judge that read them would judge a
// request Dendrite never sees: `Authorization: Bearer junk` with
// `Connection: Authorization` and a valid `?access_token=` was judged as
// unauthenticated and passed, then served by Dendrite as the token's owner
// (found in review). Now both see the same request.
func dropConnectionHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, v := range r.Header["Connection"] {
			for _, name := range strings.Split(v, ",") {
				if name = textproto.TrimString(name); name != "" {
					r.Header.Del(name)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
