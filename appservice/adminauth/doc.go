// Package adminauth is the access layer of Caldicott's admin surface
// (/_caldicott/…): named, scoped, rate-limited tokens for the JSON admin
// API, sign-in with Matrix for the IG admins' pages, sessions, CSRF and
// security headers. Whoever is let in is named in the audit log: a token
// by its name ("token:NAME"), a person by their Matrix ID.
//
// For the JSON API:
//
//	r.With(auth.RequireToken(adminauth.ScopeRead)).Get("/_caldicott/admin/v1/rooms", h)
//	name, _ := adminauth.TokenName(r.Context()) // the token that called
//
// RequireToken(scope) takes "Authorization: Bearer <token>", refuses an
// unknown, revoked or expired token, or one made for a person who is no
// longer an IG admin (401; beyond the address's allowance for calls
// without a valid token, 429 and only the first of the run audited), one
// without the scope (403; read does not imply export, nor either act) and
// one over its rate limit (429 with Retry-After), each with a Matrix-style
// JSON error ({"errcode", "error"}), and audits every call once, after the
// handler: admin_api.call (or admin_api.refused) by "token:NAME" with the
// method, the route pattern (never the path's values), the status, and of
// the query only identifiers and dates (user, room, since, until, …), each
// only if it has its expected form, else "(malformed)"; other parameters
// only as a count, since free text, in a name or a value, can carry
// patient data. The old admin_api.token is the token named "legacy" with
// the export scope only.
//
// The act scope changes things, and an act is done as the person the token
// was made for (TokenFor): CreateToken refuses act without For, and
// RequireToken(ScopeAct) refuses, 403 and audited, a token made for no one
// or for someone who is not one of the trust's IG admins now (for the other
// scopes such a token is refused 401, as no longer working).
//
// For the pages:
//
//	r.Use(adminauth.SecurityHeaders)
//	auth.Mount(r) // /_caldicott/signin, /_caldicott/signin/code, /_caldicott/signout
//	r.With(auth.RequireSession).Get("/_caldicott/", overview)
//	who, _ := adminauth.Who(r.Context())   // the IG admin's Matrix ID
//	csrf := adminauth.CSRFToken(r)           // <input type="hidden" name="csrf" value="{{.CSRF}}">
//
// RequireSession lets in a request with a live session cookie (else a GET
// is redirected to /_caldicott/signin and anything else gets 401) and
// refuses, 403 and audited (admin_web.csrf_refused), any POST, PUT, PATCH
// or DELETE without the session's CSRF token in the form field CSRFField
// ("csrf") or the X-CSRF-Token header. SecurityHeaders sets the CSP
// (default-src 'self', no inline script or style, frame-ancestors 'none'),
// nosniff, Referrer-Policy no-referrer and Cache-Control no-store.
//
// Sign-in: the person types their Matrix ID; if policy authorises them as
// an IG admin (policy.Authorize, Needs IGAdmin), the bot sends a one-time
// code to their direct chat with it, through the executor. The page says
// the same whoever was named, and answers before the send. The code (10
// characters, valid admin_api.signin.code_ttl, usable once, five wrong
// tries) is stored only hashed together with a secret held in the asking
// browser's cookie, so the code alone (which the executor's action log
// keeps) signs nobody in. Requests are limited per person (counting only
// requests naming that person) and per client address (an IPv6 /64): the
// connection's, or behind one of admin_api.trusted_proxies the right-most
// X-Forwarded-For hop that is not a trusted proxy.
// A session is a random cookie (HttpOnly, Secure unless the plain-HTTP
// loopback demo is configured, SameSite=Strict) stored hashed, ending
// after admin_api.signin.session_idle unused or session_max in all.
// Sign-ins, failures, expiries and sign-outs are audited with the Matrix ID.
// Whether the person is still an IG admin is asked again on every request:
// once they are not, their session ends (admin_signin.ended) and a token
// made for them (NewToken.For) is refused, 401.
//
// Tokens are made and revoked by the operator's CLI (CreateToken,
// RevokeToken, through the store), each audited with the operator's name.
package adminauth
