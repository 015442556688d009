package subjectaccess

import (
	"fmt"
	"strings"
	"time"

	"github.com/matrix-org/gomatrixserverlib/spec"
	"maunium.net/go/mautrix/id"
)

// Request is one export asked for.
type Request struct {
	// Subject is the person the export is about.
	Subject id.UserID
	// From (inclusive) and Until (exclusive) bound the messages' and audit
	// entries' times.
	From, Until time.Time
	// Since and UntilText are the range as typed, for the manifest.
	Since, UntilText string
	// Actor is who ran it, for the audit log ("cli:<system user>",
	// "admin_api").
	Actor string
	// RequestedBy is who asked, as given (a name, a case reference).
	RequestedBy string
	// Via is "cli" or "admin_api".
	Via string
}

const dateLayout = "2006-01-02"

// ParseRequest checks a subject and a range as typed. A date means that
// whole day in UTC: since 2026-01-01 until 2026-12-31 is all of 2026. A time
// (RFC 3339) is taken as given, both ends included.
func ParseRequest(user, since, until string) (Request, error) {
	var r Request
	user = strings.TrimSpace(user)
	switch {
	case user == "":
		return r, fmt.Errorf("user is required: the person's full Matrix ID, e.g. @jane.doe:trust-a.nhs.uk")
	case !strings.HasPrefix(user, "@"):
		return r, fmt.Errorf("user %q is not a Matrix user ID: write it in full, e.g. @jane.doe:trust-a.nhs.uk", user)
	}
	if _, err := spec.NewUserID(user, true); err != nil {
		return r, fmt.Errorf("user %q is not a Matrix user ID: write it in full, e.g. @jane.doe:trust-a.nhs.uk", user)
	}
	r.Subject = id.UserID(user)
	var err error
	if r.From, err = parseBound("since", since, false); err != nil {
		return r, err
	}
	if r.Until, err = parseBound("until", until, true); err != nil {
		return r, err
	}
	if !r.From.Before(r.Until) {
		return r, fmt.Errorf("since %s is after until %s: the range is empty", since, until)
	}
	r.Since, r.UntilText = since, until
	return r, nil
}

// parseBound reads a date or an RFC 3339 time. As the end of a range, a
// date is the next midnight and a time the next millisecond (exclusive).
func parseBound(name, s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("%s is required: a date (2026-01-31) or a time (2026-01-31T09:00:00Z)", name)
	}
	if d, err := time.Parse(dateLayout, s); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.UTC().Truncate(time.Millisecond)
		if end {
			t = t.Add(time.Millisecond)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q is not a date (2026-01-31) or a time (2026-01-31T09:00:00Z)", name, s)
}

// contains reports whether ts (ms) is in the range.
func (r Request) contains(ts int64) bool {
	return ts >= r.From.UnixMilli() && ts < r.Until.UnixMilli()
}
