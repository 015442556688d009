package adminauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"maunium.net/go/mautrix/id"
)

type tokenKey struct{}

// TokenName is the name of the token the request was let in with (by
// RequireToken), for the handler's own audit entries.
func TokenName(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(tokenKey{}).(caller)
	return c.name, ok
}

// TokenFor is the person the request's token was made for (NewToken.For),
// "" for a system's token: whom an act is done as.
func TokenFor(ctx context.Context) string {
	c, _ := ctx.Value(tokenKey{}).(caller)
	return c.person
}

// TokenActor is how the audit log names a token's caller: "token:NAME".
func TokenActor(name string) string { return "token:" + name }

// RequireToken lets a JSON API call in with a bearer token that is known,
// not revoked, not expired, holds scope and is within its rate limit;
// otherwise 401, 403 or 429 with a Matrix-style JSON error. Every call is
// audited once, with the token's name, method, route pattern and status.
func (a *Auth) RequireToken(scope Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := a.admit(w, r, scope)
			if !ok {
				return
			}
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			completed := false
			defer func() {
				// A response cut off (a failed export aborts its stream) is
				// still a call: audited, then the panic goes on.
				if !completed {
					a.auditCall(r, c, ActionAPICall, rec.status, "the response was cut off")
				}
			}()
			next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), tokenKey{}, c)))
			completed = true
			a.auditCall(r, c, ActionAPICall, rec.status, "")
			a.touch(r.Context(), c)
		})
	}
}

// admit judges the token; when it refuses, it has answered and audited.
func (a *Auth) admit(w http.ResponseWriter, r *http.Request, scope Scope) (caller, bool) {
	secret, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || secret == "" {
		a.refuseUnknown(w, r, caller{}, "M_MISSING_TOKEN", "send a token: Authorization: Bearer <token> (caldicott admin token create)")
		return caller{}, false
	}
	c, err := a.lookup(r.Context(), secret)
	if err == errBadToken && c.name == "" {
		a.refuseUnknown(w, r, caller{}, "M_UNKNOWN_TOKEN", "unknown token")
		return caller{}, false
	}
	if err == errBadToken {
		// A stale token left in a script calls on and on: limited like a
		// stranger's, so its refusals cannot flood the audit log.
		a.refuseUnknown(w, r, c, "M_UNKNOWN_TOKEN", "this token is revoked or expired")
		return caller{}, false
	}
	if err != nil {
		a.log.Error().Err(err).Msg("Could not read admin tokens")
		jsonError(w, http.StatusServiceUnavailable, "M_UNKNOWN", "the database is unavailable; try again")
		return caller{}, false
	}
	if scope == ScopeAct {
		if why := a.mayAct(c); why != "" {
			jsonError(w, http.StatusForbidden, "M_FORBIDDEN", why)
			a.auditCall(r, c, ActionAPIRefused, http.StatusForbidden, why)
			return caller{}, false
		}
	}
	if c.person != "" && !a.mayAdminister(id.UserID(c.person)) {
		a.refuseUnknown(w, r, c, "M_UNKNOWN_TOKEN", "this token was made for "+c.person+", who is no longer one of the trust's IG admins, so it no longer works")
		return caller{}, false
	}
	if !c.has(scope) {
		jsonError(w, http.StatusForbidden, "M_FORBIDDEN", fmt.Sprintf("this token lacks the %s scope", scope))
		a.auditCall(r, c, ActionAPIRefused, http.StatusForbidden, "token lacks the "+string(scope)+" scope")
		return caller{}, false
	}
	if ok, wait, first := a.tokenLimit.take(c.name); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		jsonError(w, http.StatusTooManyRequests, "M_LIMIT_EXCEEDED", "too many calls with this token; wait and try again", "retry_after_ms", wait.Milliseconds())
		if first { // the first refusal of a run is enough: a flood must not fill the log
			a.auditCall(r, c, ActionAPIRefused, http.StatusTooManyRequests, "rate limit")
		}
		return caller{}, false
	}
	return c, true
}

// mayAct is why c may not act ("" if it may): an act is done as the
// person the token was made for, so it needs one, and they must be one of
// the trust's IG admins now; a token lacking the scope is refused as for
// any other scope.
func (a *Auth) mayAct(c caller) string {
	switch {
	case !c.has(ScopeAct):
		return ""
	case c.person == "":
		return "this token was made for no one (a system's token): an act is done as a person, so only a token made --for an IG admin may act"
	case !a.mayAdminister(id.UserID(c.person)):
		return "this token acts as " + c.person + ", who is not one of this trust's IG admins now: a token does only what its person could do themselves"
	}
	return ""
}

// refuseUnknown answers a call without a usable token (none, unknown,
// or c's, revoked or expired): 401 and audited, unless its address has
// been refused too often lately; then 429, and only the first refusal of
// that run audited.
func (a *Auth) refuseUnknown(w http.ResponseWriter, r *http.Request, c caller, code, msg string) {
	if ok, wait, first := a.unauthLimit.take(a.addressKey(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		jsonError(w, http.StatusTooManyRequests, "M_LIMIT_EXCEEDED", "too many calls without a valid token", "retry_after_ms", wait.Milliseconds())
		if first {
			a.auditCall(r, c, ActionAPIRefused, http.StatusTooManyRequests, "too many calls without a valid token; "+msg)
		}
		return
	}
	jsonError(w, http.StatusUnauthorized, code, msg)
	a.auditCall(r, c, ActionAPIRefused, http.StatusUnauthorized, msg)
}

// auditCall writes the one audit entry of a call.
func (a *Auth) auditCall(r *http.Request, c caller, action string, status int, why string) {
	actor := "admin_api"
	if c.name != "" {
		actor = TokenActor(c.name)
	}
	route := routePattern(r)
	detail := map[string]any{"method": r.Method, "route": route, "status": status, "address": a.clientAddress(r)}
	if c.name != "" {
		detail["token"] = c.name
	}
	if c.person != "" {
		detail["for"] = c.person
	}
	if q := auditedQuery(r); len(q) > 0 {
		detail["query"] = q
	}
	reason := fmt.Sprintf("%s %s: %d", r.Method, route, status)
	if why != "" {
		reason += " (" + why + ")"
	}
	a.audit(r.Context(), actor, action, reason, detail)
}

// routePattern is the route as registered (/_caldicott/admin/v1/rooms/{room}),
// never the path with its values.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	if r.Pattern != "" {
		return r.Pattern
	}
	return "(unrouted)"
}

// jsonError answers with a Matrix-style error; extra is key, value pairs.
func jsonError(w http.ResponseWriter, status int, errcode, msg string, extra ...any) {
	body := map[string]any{"errcode": errcode, "error": msg}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// statusRecorder notes the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
