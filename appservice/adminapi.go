package appservice

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caldicott/caldicott/appservice/subjectaccess"
	"github.com/caldicott/caldicott/appservice/verification"
)

// adminAPI serves Caldicott's admin API (/_caldicott/admin/v1/…) behind
// its own bearer token, on the same listener as the homeserver's
// endpoints. Without a token it is off (404).
func (s *Service) adminAPI() http.Handler {
	token := s.Cfg.AdminAPI.Token
	if token == "" {
		return http.NotFoundHandler()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /_caldicott/admin/v1/export", s.exportHandler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			adminError(w, http.StatusUnauthorized, "missing or wrong bearer token (admin_api.token)")
			return
		}
		if !s.Leading() {
			// Its records (the export's audit entry) are the leader's to write.
			w.Header().Set("Retry-After", "5")
			adminError(w, http.StatusServiceUnavailable, "this Caldicott is on standby; the leader answers the admin API (its /ready answers 200)")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// exportHandler answers GET /_caldicott/admin/v1/export?user=…&since=…&until=…
// [&requested_by=…] with the subject access bundle as a zip archive
// (messages.jsonl, audit.jsonl, manifest.json, SHA256SUMS) — the same
// bundle `caldicott export` writes. One export runs at a time.
func (s *Service) exportHandler() http.Handler {
	running := make(chan struct{}, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		req, err := subjectaccess.ParseRequest(q.Get("user"), q.Get("since"), q.Get("until"))
		if err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		req.Via, req.Actor, req.RequestedBy = "admin_api", "admin_api", q.Get("requested_by")
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
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
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
