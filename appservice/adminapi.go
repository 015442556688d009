package appservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/caldicott/caldicott/appservice/adminauth"
	"github.com/caldicott/caldicott/appservice/adminweb"
	"github.com/caldicott/caldicott/appservice/subjectaccess"
	"github.com/caldicott/caldicott/appservice/verification"
	"github.com/caldicott/caldicott/compliance"
	"github.com/caldicott/caldicott/policy"
)

// mountAdmin puts the admin surface (/_caldicott/…) on r: the sign-in
// pages, the IG lead's compliance pages behind a session, and the JSON
// admin API behind named tokens, all with the security headers.
func (s *Service) mountAdmin(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(adminauth.SecurityHeaders, s.leaderOnly)
		s.auth.Mount(r)
		export := s.exportHandler()
		r.With(s.auth.RequireToken(adminauth.ScopeExport)).Method(http.MethodGet, "/_caldicott/admin/v1/export", export)
		r.With(s.auth.RequireToken(adminauth.ScopeExport)).Method(http.MethodGet, "/_caldicott/admin/v1/people/{mxid}/export", export)
		web := s.web.Handler()
		r.Handle(adminweb.UIPrefix+"*", web)
		r.Handle(adminweb.APIPrefix+"/*", web)
	})
}

// leaderOnly answers 503 on a standby: every admin call writes the audit
// log (and some send through the bot), which are the leader's to do.
func (s *Service) leaderOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Leading() {
			w.Header().Set("Retry-After", "5")
			adminError(w, http.StatusServiceUnavailable, "this Caldicott is on standby; the leader answers the admin pages and API (its /ready answers 200)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newAdminWeb is the compliance pages and the admin API's read endpoints,
// behind the access layer.
func (s *Service) newAdminWeb() (*adminweb.Server, error) {
	return adminweb.New(compliance.New(s.Store, s.Cfg), adminweb.Auth{
		Pages: s.auth.RequireSession,
		API:   func(scope string) func(http.Handler) http.Handler { return s.auth.RequireToken(adminauth.Scope(scope)) },
		Who:   adminauth.Who,
		Acting: func(ctx context.Context) (string, string) {
			name, _ := adminauth.TokenName(ctx)
			return adminauth.TokenFor(ctx), adminauth.TokenActor(name)
		},
		CSRF: adminauth.CSRFToken,
	}, adminActs{s}, s.Log.With().Str("component", "adminweb").Logger())
}

// newAdminAuth is the admin surface's access layer; the bot sends sign-in
// codes through the executor, like every other message.
func (s *Service) newAdminAuth() *adminauth.Auth {
	return adminauth.New(adminauth.Options{
		Store: s.Store, Config: s.Cfg.AdminAPI, IsIGAdmin: s.IsIGAdmin,
		Execute: func(ctx context.Context, d policy.Decision) error {
			res, err := s.Exec.Execute(ctx, "", s.BotID.String(), d)
			switch {
			case err != nil:
				return err
			case res.DryRun:
				return errors.New("policy.dry_run is on: the bot sends nothing, sign-in codes included")
			case len(res.Failures) > 0:
				return errors.New(strings.Join(res.Failures, "; "))
			}
			return nil
		},
		Home: adminweb.UIPrefix,
		Log:  s.Log.With().Str("component", "adminauth").Logger(),
	})
}

// serveAdmin starts the admin listener when admin_api.listen names one
// (the admin paths are then not on the homeserver-facing listener); its
// errors arrive on the channel, nil when there is no such listener.
func (s *Service) serveAdmin() (<-chan error, func(), error) {
	addr := s.Cfg.AdminAPI.Listen
	if addr == "" {
		return nil, func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s (admin_api.listen): %w", addr, err)
	}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	s.mountAdmin(r)
	srv := newHTTPServer(s.Cfg.AppService.Timeouts, r)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.Log.Info().Str("address", addr).Msg("Listening for the admin API and pages")
	return errc, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// exportHandler answers GET /_caldicott/admin/v1/people/{mxid}/export?since=…&until=…
// [&requested_by=…], and its older equivalent GET /_caldicott/admin/v1/export?user=…&since=…
// &until=…[&requested_by=…], with the subject access bundle as a zip archive
// (messages.jsonl, audit.jsonl, manifest.json, SHA256SUMS) — the same
// bundle `caldicott export` writes. It covers this trust's people: a
// person of another trust's server is refused (403, audited). One export
// runs at a time.
func (s *Service) exportHandler() http.Handler {
	running := make(chan struct{}, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, status, err := s.exportRequest(r)
		if err != nil {
			adminError(w, status, err.Error())
			return
		}
		select {
		case running <- struct{}{}:
			defer func() { <-running }()
		default:
			w.Header().Set("Retry-After", "60")
			adminError(w, http.StatusTooManyRequests, "an export is already running; try again when it has finished")
			return
		}
		ctx := r.Context()
		if _, err := s.Bot.Versions(ctx); err != nil {
			adminError(w, http.StatusServiceUnavailable, "the homeserver cannot be reached; nothing was exported")
			return
		}
		x := &subjectaccess.Exporter{
			Reader: s.Bot, Store: s.Store, Keys: verification.OpenStoredKeys(s.Store.DB(), s.Cfg.AppService.ASToken),
			Trust: s.Cfg.Trust.Name, Server: s.Cfg.Homeserver.Domain, Now: s.Now,
		}
		now := s.Now().UTC()
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="subject-access-%s-%s.zip"`, safeFileName(req.Subject.Localpart()), now.Format("20060102-150405")))
		out := &startedWriter{ResponseWriter: newProgressWriter(w, s.Cfg.AppService.Timeouts.Write.Duration)}
		if _, err := x.Export(s.Log.WithContext(ctx), req, subjectaccess.NewZipBundle(out, now.Truncate(time.Second))); err != nil {
			s.Log.Error().Err(err).Msg("Subject access export failed")
			if !out.started {
				w.Header().Del("Content-Disposition")
				adminError(w, http.StatusBadGateway, "the export failed before anything was sent: "+err.Error())
				return
			}
			// The archive has begun: cutting the connection leaves the
			// client a broken download, never a complete-looking one.
			panic(http.ErrAbortHandler)
		}
	})
}

// maxExportQuery bounds an export's query string: a user ID, two times
// and a reference.
const maxExportQuery = 1024

// exportRequest reads an export's request: the person from the path (or,
// on the older endpoint, ?user=), the range, the requester's reference.
// A bad one is 400; a person of another trust, 403 and audited.
func (s *Service) exportRequest(r *http.Request) (subjectaccess.Request, int, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(r.URL.RawQuery) > maxExportQuery {
		return subjectaccess.Request{}, http.StatusBadRequest, fmt.Errorf("the query string is malformed or too long (at most %d characters)", maxExportQuery)
	}
	user, takes := q.Get("user"), []string{"user", "since", "until", "requested_by"}
	if mxid := chi.URLParam(r, "mxid"); mxid != "" {
		if user, err = url.PathUnescape(mxid); err != nil || len(user) > 255 {
			return subjectaccess.Request{}, http.StatusBadRequest, errors.New("the path's person is not a Matrix user ID (at most 255 characters, e.g. @jane.doe:trust-a.nhs.uk)")
		}
		takes = takes[1:]
	}
	for k, v := range q {
		if !slices.Contains(takes, k) || len(v) > 1 {
			return subjectaccess.Request{}, http.StatusBadRequest, fmt.Errorf("this endpoint takes %s, each once", strings.Join(takes, ", "))
		}
	}
	if rb := q.Get("requested_by"); len(rb) > 200 {
		return subjectaccess.Request{}, http.StatusBadRequest, errors.New("requested_by is too long (at most 200 characters): a case reference")
	}
	req, err := subjectaccess.ParseRequest(user, q.Get("since"), q.Get("until"))
	if err != nil {
		return req, http.StatusBadRequest, err
	}
	name, _ := adminauth.TokenName(r.Context())
	req.Via, req.Actor, req.RequestedBy = "admin_api", adminauth.TokenActor(name), q.Get("requested_by")
	if own := s.Cfg.Homeserver.Domain; req.Subject.Homeserver() != own {
		why := fmt.Sprintf("%s is a person of another trust's server (%s): this export covers this trust's people (server %s) only. Ask that trust's IG team for theirs. Nothing was exported.",
			req.Subject, req.Subject.Homeserver(), own)
		if err := s.Audit(r.Context(), req.Actor, "", "refused.subject_access_export", why, map[string]any{"user_id": req.Subject.String()}); err != nil {
			return req, http.StatusServiceUnavailable, fmt.Errorf("the refusal could not be audited; nothing was exported")
		}
		return req, http.StatusForbidden, errors.New(why)
	}
	return req, 0, nil
}

// startedWriter notes whether any of the response body has been sent.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

// adminError answers an admin API call with a JSON error.
func adminError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	errcode := "M_UNKNOWN"
	switch code {
	case http.StatusForbidden:
		errcode = "M_FORBIDDEN"
	case http.StatusBadRequest:
		errcode = "M_INVALID_PARAM"
	case http.StatusTooManyRequests:
		errcode = "M_LIMIT_EXCEEDED"
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"errcode": errcode, "error": msg})
}

// safeFileName keeps a localpart usable in a file name.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
