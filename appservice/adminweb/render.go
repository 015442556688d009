package adminweb

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caldicott/caldicott/compliance"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/style.css
var styleCSS []byte

// pageNames are the pages, each a template file laid out by layout.html.
var pageNames = []string{"overview", "rooms", "room", "people", "person", "criteria", "error"}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse the %s page: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"roomURL":   func(id string) string { return UIPrefix + "rooms/" + url.PathEscape(id) },
	"personURL": func(id string) string { return UIPrefix + "people/" + url.PathEscape(id) },
	"day":       func(t time.Time) string { return dayOrNever(t, "2 Jan 2006") },
	"when":      func(t time.Time) string { return dayOrNever(t, "2 Jan 2006 15:04 UTC") },
	"join":      strings.Join,
	"dur":       compliance.DurationWords,
	"plural":    plural,
	"first":     first,
	"more":      more,
}

func dayOrNever(t time.Time, layout string) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(layout)
}

// pageBound is the most rows a list on the overview shows; the API has them all.
const pageBound = 50

// first is a list's first pageBound elements.
func first(list any) any {
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Slice || v.Len() <= pageBound {
		return list
	}
	return v.Slice(0, pageBound).Interface()
}

// more is how many of a list's elements first leaves out.
func more(list any) int {
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Slice {
		return 0
	}
	return max(0, v.Len()-pageBound)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// page is what every page's layout reads besides the page's own data.
type page struct {
	Title     string
	Trust     string
	Period    compliance.Period
	Generated time.Time
	Who       string
	CSRF      string
	// CSRFField and LogoutPath are the package's constants, for the layout.
	CSRFField, LogoutPath string
	// Path is the page's own path, for the period form and print links.
	Path string
	Data any
}

// Query carries the period into links ("" when the page has none).
func (p page) Query() string {
	if p.Period.From.IsZero() {
		return ""
	}
	return "?from=" + p.Period.FromDay() + "&to=" + p.Period.LastDay()
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, p compliance.Period, data any) {
	who, _ := s.auth.Who(r.Context())
	pg := page{Title: title, Trust: s.model.Trust(), Period: p, Generated: s.model.Now().UTC(), Who: who, CSRF: s.auth.CSRF(r),
		CSRFField: CSRFField, LogoutPath: LogoutPath, Path: r.URL.Path, Data: data}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, pg); err != nil {
		s.log.Error().Err(err).Str("page", name).Msg("Could not render a compliance page")
		http.Error(w, "the page could not be shown; see Caldicott's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageError shows a refusal or a failure as a page.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.classify(err)
	s.render(w, r, status, "error", http.StatusText(status), compliance.Period{}, msg)
}

// apiError answers {"error": "..."} with the status the error calls for.
func (s *Server) apiError(w http.ResponseWriter, err error) {
	status, msg := s.classify(err)
	writeJSON(w, status, map[string]string{"error": msg})
}

// classify maps an error to a status and what the caller is told: a bad
// request's own words, "not known" for what Caldicott has no record of,
// and for anything else a pointer to the log, where the error is written.
func (s *Server) classify(err error) (int, string) {
	var bad badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.msg
	case errors.Is(err, compliance.ErrNotFound):
		return http.StatusNotFound, "Caldicott has no record of this room or person."
	}
	s.log.Error().Err(err).Msg("Could not read the compliance model")
	return http.StatusInternalServerError, "Caldicott could not read its database; see its log."
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status, raw = http.StatusInternalServerError, []byte(`{"error":"could not encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(raw, '\n'))
}

func styleHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(styleCSS)
	})
}

// bounded sets what every data answer carries and refuses a bad query
// string before the handler reads anything.
func (s *Server) bounded(h func(*Server, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if err := checkQuery(r); err != nil {
			if strings.HasPrefix(r.URL.Path, APIPrefix) {
				s.apiError(w, err)
			} else {
				s.pageError(w, r, err)
			}
			return
		}
		h(s, w, r)
	}
}
