package adminweb

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/caldicott/caldicott/compliance"
)

// maxQuery bounds a request's query string: the longest anything here
// takes is two dates.
const maxQuery = 256

// maxID bounds a room or user ID (the spec's limit for both).
const maxID = 255

// Matrix identifiers as the pages and the API accept them: a sigil, an
// opaque or historical localpart without spaces or colons, and a server
// name (host, IPv4, [IPv6], optional port).
var (
	roomIDPattern = regexp.MustCompile(`^![!-9;-~]+:[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^![!-9;-~]+:\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
	userIDPattern = regexp.MustCompile(`^@[!-9;-~]+:[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^@[!-9;-~]+:\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
)

// badRequest is a refusal to show as it is: it names no data.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func refuse(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

func roomParam(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if len(id) > maxID || !roomIDPattern.MatchString(id) {
		return "", refuse("not a room ID: a room ID looks like !abc:server.example (at most %d characters)", maxID)
	}
	return id, nil
}

func userParam(r *http.Request) (string, error) {
	id := r.PathValue("mxid")
	if len(id) > maxID || !userIDPattern.MatchString(id) {
		return "", refuse("not a Matrix user ID: a user ID looks like @name:server.example (at most %d characters)", maxID)
	}
	return id, nil
}

// periodParam reads ?from=&to= (YYYY-MM-DD); both optional.
func (s *Server) periodParam(r *http.Request) (compliance.Period, error) {
	q := r.URL.Query()
	p, err := compliance.ParsePeriod(q.Get("from"), q.Get("to"), s.model.Now())
	if errors.Is(err, compliance.ErrPeriod) {
		return p, badRequest{strings.TrimPrefix(err.Error(), compliance.ErrPeriod.Error()+": ")}
	}
	return p, err
}

// checkQuery refuses a query string too long, or with parameters not
// taken: a caller who misspelt "from" should hear so, not get 30 days.
func checkQuery(r *http.Request) error {
	if len(r.URL.RawQuery) > maxQuery {
		return refuse("the query string is too long (at most %d characters)", maxQuery)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return refuse("the query string is malformed")
	}
	for k, v := range q {
		if k != "from" && k != "to" {
			return refuse("unknown parameter %q (this endpoint takes from and to)", truncate(k, 32))
		}
		if len(v) > 1 {
			return refuse("parameter %q given more than once", k)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
