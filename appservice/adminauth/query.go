package adminauth

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"
)

// Values the audit log records instead of a parameter's own.
const (
	queryMalformed  = "(malformed)"
	queryNotKept    = "(not recorded)"
	queryOtherCount = "other_parameters"
)

// queryForms are the query parameters whose values may go into the audit
// log, each with the form a value must have to be recorded: identifiers,
// dates and small numbers, never free text (which could carry patient
// data). A value not of its form is recorded as malformed.
var queryForms = map[string]func(string) bool{
	"user":   isUserID,
	"room":   roomID.MatchString,
	"trust":  serverName.MatchString,
	"server": serverName.MatchString,
	"since":  isDateTime,
	"until":  isDateTime,
	"from":   isSmallInt,
	"limit":  isSmallInt,
	"scope":  func(v string) bool { _, err := ParseScopes([]string{v}); return err == nil && v == strings.ToLower(v) },
	"format": func(v string) bool { return v == "json" || v == "jsonl" || v == "csv" || v == "zip" },
}

// queryFreeText are known parameters that are free text: present or not,
// never their value (the handler keeps what it needs in its own entry).
var queryFreeText = map[string]bool{"requested_by": true}

var (
	roomID     = regexp.MustCompile(`^![A-Za-z0-9._~+/=-]{1,200}(:[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?)?$`)
	serverName = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$`)
	smallInt   = regexp.MustCompile(`^[0-9]{1,6}$`)
)

func isUserID(v string) bool {
	_, _, err := id.UserID(v).Parse()
	return err == nil && strings.HasPrefix(v, "@") && len(v) <= 255 && !strings.ContainsAny(v, " \t\r\n")
}

// isDateTime: an RFC 3339 date-time or full date.
func isDateTime(v string) bool {
	if _, err := time.Parse(time.RFC3339, v); err == nil {
		return true
	}
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}

// isSmallInt: at most six digits, so never an NHS number (ten).
func isSmallInt(v string) bool { return smallInt.MatchString(v) }

// auditedQuery is what the audit log keeps of a query: the values of
// queryForms that have their form, "(malformed)" for those that do not,
// "(not recorded)" for known free text, and only how many others there
// were, since a parameter's name can carry patient data as well as its
// value.
func auditedQuery(r *http.Request) map[string]any {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil
	}
	out := map[string]any{}
	others := 0
	for k, v := range q {
		form, known := queryForms[k]
		switch {
		case known && len(v) > 0 && form(v[0]):
			out[k] = v[0]
		case known:
			out[k] = queryMalformed
		case queryFreeText[k]:
			out[k] = queryNotKept
		default:
			others++
		}
	}
	if others > 0 {
		out[queryOtherCount] = others
	}
	return out
}
