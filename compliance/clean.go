package compliance

import (
	"unicode/utf8"

	"github.com/caldicott/caldicott/nhsnumber"
)

// Masked stands where an NHS number was.
const Masked = "[NHS number removed]"

// maxText bounds a free-text field passed on: a reason is a sentence, and a
// page of them must stay readable.
const maxText = 500

// Clean makes free text written by people or other systems (a hold's reason,
// an error, an audit reason) fit to show: NHS numbers masked, length bounded.
func Clean(s string) string {
	s = maskOnly(s)
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// maskOnly masks NHS numbers and keeps the rest whole.
func maskOnly(s string) string { return nhsnumber.Redact(s, Masked) }
