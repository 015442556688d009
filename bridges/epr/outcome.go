package epr

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/caldicott/caldicott/nhsnumber"
)

// maxReason bounds the reason taken from a server's answer: it goes into
// errors, logs and messages to clinicians.
const maxReason = 300

// reason summarises a server's OperationOutcome: each error's diagnostics or
// details, with where in the resource it applies. Warnings are left out when
// there are errors. A body that is not an OperationOutcome is not quoted (it
// may echo the request); the HTTP status stands instead. NHS numbers a server
// quotes back are masked: the reason ends up in logs.
func reason(status int, body []byte) string {
	var all, errs []string
	if oo, err := fhir.UnmarshalOperationOutcome(body); err == nil {
		for _, issue := range oo.Issue {
			d := describe(issue)
			all = append(all, d)
			if issue.Severity == fhir.IssueSeverityError || issue.Severity == fhir.IssueSeverityFatal {
				errs = append(errs, d)
			}
		}
	}
	if len(errs) > 0 {
		all = errs
	}
	if len(all) == 0 {
		return http.StatusText(status)
	}
	return truncate(nhsnumber.Redact(strings.Join(all, "; "), "[NHS number]"), maxReason)
}

func describe(issue fhir.OperationOutcomeIssue) string {
	text := issue.Code.Code()
	switch {
	case issue.Diagnostics != nil && *issue.Diagnostics != "":
		text = *issue.Diagnostics
	case issue.Details != nil && issue.Details.Text != nil && *issue.Details.Text != "":
		text = *issue.Details.Text
	case issue.Details != nil && len(issue.Details.Coding) > 0 && issue.Details.Coding[0].Display != nil:
		text = *issue.Details.Coding[0].Display
	}
	where := issue.Expression
	if len(where) == 0 {
		where = issue.Location
	}
	if len(where) > 0 {
		text += " (at " + strings.Join(where, ", ") + ")"
	}
	return text
}

// truncate shortens s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
