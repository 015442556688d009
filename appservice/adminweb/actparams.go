package adminweb

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caldicott/caldicott/compliance"
)

// MaxReason bounds a legal hold's reason, in characters: a case reference
// and a few words, kept in the audit log.
const MaxReason = 500

// maxActBody bounds an act's JSON body.
const maxActBody = 4 << 10

// errUnknownRoom is an act's room that Caldicott has no record of.
var errUnknownRoom = compliance.ErrNotFound

// checkReason is a hold's reason as the command takes it (its words, one
// space apart), or why it cannot be one.
func checkReason(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", refuse("the reason is not valid UTF-8")
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }) >= 0 {
		return "", refuse("the reason holds control characters")
	}
	reason := strings.Join(strings.Fields(raw), " ")
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return "", refuse("give the reason for the hold (it is kept in the audit log), e.g. complaint 2026/114")
	case n > MaxReason:
		return "", refuse("the reason is too long (%d characters; at most %d): a case reference and a few words are enough", n, MaxReason)
	}
	return reason, nil
}

// actBody reads an act's JSON body: {"reason": "…"} for a hold, nothing
// (or {}) otherwise; anything else is refused.
func actBody(w http.ResponseWriter, r *http.Request, what Act) (string, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return "", refuse("the body is too large (at most %d bytes)", maxActBody)
	case err != nil:
		return "", refuse("the body could not be read")
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		if what == ActHold {
			return "", refuse(`send the hold's reason as JSON: {"reason": "complaint 2026/114"}`)
		}
		return "", nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return "", refuse("send the body as application/json")
	}
	var body struct {
		Reason *string `json:"reason"`
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		return "", refuse(`the body is not the JSON this takes (%s)`, map[bool]string{true: `{"reason": "…"}`, false: "nothing, or {}"}[what == ActHold])
	}
	switch {
	case what != ActHold && body.Reason != nil:
		return "", refuse("a reason is given only when placing a hold")
	case what != ActHold:
		return "", nil
	case body.Reason == nil:
		return "", refuse(`give the hold's reason: {"reason": "complaint 2026/114"}`)
	}
	return checkReason(*body.Reason)
}
