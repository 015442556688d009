package adminweb

import (
	"context"
	"fmt"
	"html/template"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/compliance"
)

// Auth is the access layer, injected: middleware for the pages (a signed-in
// IG admin) and for the API (a named token with a scope), who is signed in,
// whom an API call acts as, and the CSRF token every POST form carries.
type Auth struct {
	Pages func(http.Handler) http.Handler
	API   func(scope string) func(http.Handler) http.Handler
	Who   func(ctx context.Context) (mxid string, ok bool)
	// Acting is whom an API call's token acts as (its person, "" for a
	// system's) and how the audit log names the token ("token:NAME").
	Acting func(ctx context.Context) (person, via string)
	CSRF   func(r *http.Request) string
}

// Token scopes the API's endpoints need.
const (
	ScopeRead   = "read"
	ScopeExport = "export"
	// ScopeAct acts on rooms, as the token's person (see Actions).
	ScopeAct = "act"
)

// Paths.
const (
	UIPrefix  = "/_caldicott/ui/"
	APIPrefix = "/_caldicott/admin/v1"
	// LogoutPath is where the pages' logout form posts (served by the access layer).
	LogoutPath = "/_caldicott/signout"
)

// CSRFField names the hidden field that carries Auth.CSRF's token in every
// POST form the pages render; the access layer checks it.
const CSRFField = "csrf"

// Server serves the pages and the API over the model.
type Server struct {
	model *compliance.Model
	auth  Auth
	acts  Actions
	pages map[string]*template.Template
	log   zerolog.Logger
}

// New builds the server; every field of auth is required. acts carries out
// the act endpoints and forms; nil for a server that only reads (they then
// refuse, changing nothing).
func New(model *compliance.Model, auth Auth, acts Actions, log zerolog.Logger) (*Server, error) {
	if auth.Pages == nil || auth.API == nil || auth.Who == nil || auth.Acting == nil || auth.CSRF == nil {
		return nil, fmt.Errorf("adminweb: the access layer is incomplete (Pages, API, Who, Acting and CSRF are all needed)")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Server{model: model, auth: auth, acts: acts, pages: pages, log: log}, nil
}

// Route is one endpoint: its method, its path pattern (net/http's), and the
// scope a token needs ("" for a page, which needs a signed-in session).
type Route struct {
	Method, Path, Scope string
	handle              func(*Server, http.ResponseWriter, *http.Request)
}

// routes lists every page and endpoint; Routes and Register read it, and
// the OpenAPI test checks docs/openapi.yaml against its API rows.
var routes = []Route{
	{"GET", UIPrefix + "{$}", "", (*Server).pageOverview},
	{"GET", UIPrefix + "rooms", "", (*Server).pageRooms},
	{"GET", UIPrefix + "rooms/{id}", "", (*Server).pageRoom},
	{"GET", UIPrefix + "people", "", (*Server).pagePeople},
	{"GET", UIPrefix + "people/{mxid}", "", (*Server).pagePerson},
	{"GET", UIPrefix + "criteria", "", (*Server).pageCriteria},
	{"POST", UIPrefix + "rooms/{id}/hold", "", (*Server).formHold},
	{"POST", UIPrefix + "rooms/{id}/hold/lift", "", (*Server).formLift},
	{"POST", UIPrefix + "rooms/{id}/review", "", (*Server).formReview},
	{"GET", APIPrefix + "/overview", ScopeRead, (*Server).apiOverview},
	{"GET", APIPrefix + "/criteria", ScopeRead, (*Server).apiCriteria},
	{"GET", APIPrefix + "/rooms", ScopeRead, (*Server).apiRooms},
	{"GET", APIPrefix + "/rooms/{id}", ScopeRead, (*Server).apiRoom},
	{"GET", APIPrefix + "/people", ScopeRead, (*Server).apiPeople},
	{"GET", APIPrefix + "/people/{mxid}", ScopeRead, (*Server).apiPerson},
	{"GET", APIPrefix + "/reviews", ScopeRead, (*Server).apiReviews},
	{"GET", APIPrefix + "/retention", ScopeRead, (*Server).apiRetention},
	{"GET", APIPrefix + "/holds", ScopeRead, (*Server).apiHolds},
	{"GET", APIPrefix + "/records", ScopeRead, (*Server).apiRecords},
	{"GET", APIPrefix + "/federation", ScopeRead, (*Server).apiFederation},
	{"GET", APIPrefix + "/audit", ScopeExport, (*Server).apiAudit},
	{"POST", APIPrefix + "/rooms/{id}/hold", ScopeAct, (*Server).apiHold},
	{"DELETE", APIPrefix + "/rooms/{id}/hold", ScopeAct, (*Server).apiLift},
	{"POST", APIPrefix + "/rooms/{id}/review", ScopeAct, (*Server).apiReview},
}

// Routes lists every page and endpoint the server registers.
func Routes() []Route {
	out := make([]Route, len(routes))
	copy(out, routes)
	return out
}

// StylePath is the one stylesheet, served without a session (it holds nothing).
const StylePath = UIPrefix + "static/style.css"

// Register adds every page and endpoint to mux, each behind its access
// check, and the stylesheet. The subject access exports (…/v1/export and
// …/v1/people/{mxid}/export) are the appservice's own and are not
// registered here.
func (s *Server) Register(mux *http.ServeMux) {
	for _, rt := range routes {
		h := http.Handler(s.bounded(rt.handle))
		if rt.Scope == "" {
			h = s.auth.Pages(h)
		} else {
			h = s.auth.API(rt.Scope)(h)
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
	mux.Handle("GET "+StylePath, styleHandler())
}

// Handler is a mux with everything registered.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}
