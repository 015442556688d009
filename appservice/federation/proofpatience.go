package federation

import (
	"errors"
	"net/http"
	"time"

	"maunium.net/go/mautrix"
)

// errProofUnavailable: our homeserver kept failing to serve a cited
// request for proofPatience.
var errProofUnavailable = errors.New("the cited request could not be read")

// proofPatience is how long our homeserver may keep answering a server
// error for a cited request before the rule citing it is judged unproven.
// Until then the list room's lane retries, as for any homeserver outage;
// after it, one proof our homeserver cannot serve (say it cannot fetch the
// event from the admin's server) no longer holds every later rule of the
// list behind it. The next reload of the list reads the proof again.
const proofPatience = 2 * time.Minute

// proofGivenUp reports whether a failure to read a cited request has gone
// on long enough to judge the rule without it. Only a server error counts
// (the homeserver answered and could not help); a homeserver that cannot
// be reached at all is an outage, retried however long it lasts.
func (f *Federation) proofGivenUp(eventID string, err error) bool {
	var httpErr mautrix.HTTPError
	if !errors.As(err, &httpErr) || httpErr.Response == nil || httpErr.Response.StatusCode < http.StatusInternalServerError {
		return false
	}
	now := f.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	first, ok := f.proofFailing[eventID]
	if !ok {
		f.proofFailing[eventID] = now
		return false
	}
	if now.Sub(first) < proofPatience {
		return false
	}
	delete(f.proofFailing, eventID)
	return true
}
