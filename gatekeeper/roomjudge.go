package gatekeeper

import (
	"errors"
	"net/http"

	"github.com/caldicott/caldicott/nhsnumber"
	"github.com/caldicott/caldicott/policy"
)

// byClass decides by the room's class: judge says what to refuse for
// each class. A request whose credentials Dendrite does not accept passes
// on undecided, to be refused there. When the class cannot be read
// (Dendrite down, the state unreadable), the request is refused, saying
// why: a decision touching a clinical room fails closed.
func (g *Gatekeeper) byClass(r *http.Request, roomID string, judge func(policy.Class) *Refusal) *Refusal {
	err := g.identities.Check(r.Context(), userAuth(r))
	if errors.Is(err, errNoCredentials) {
		return nil // Dendrite refuses it; nothing about the room is told
	}
	if f := rateLimited(err); f != nil {
		return f
	}
	var class policy.Class
	if err == nil {
		class, err = g.classes.Class(r.Context(), roomID, userAuth(r))
	} else {
		g.metrics.RoomStateFailure.Inc()
	}
	if err == nil {
		return judge(class)
	}
	g.log.Warn().Err(err).Str("room_id", loggableRoom(roomID)).Msg("Could not read the room's class; refusing what it would decide")
	return forbidden(ReasonStateUnknown, "I could not check this room's policy with the homeserver just now, so this was not done (it may be a clinical room). Try again in a minute; if it keeps failing, tell your IT team.")
}

// ifClinical refuses with f in a clinical room (and when the class cannot be read).
func (g *Gatekeeper) ifClinical(r *http.Request, roomID string, f *Refusal) *Refusal {
	return g.byClass(r, roomID, func(c policy.Class) *Refusal {
		if c == policy.Clinical {
			return f
		}
		return nil
	})
}

// userAuth is the asking client's credentials, as a header.
func userAuth(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		return h
	}
	if t := r.URL.Query().Get("access_token"); t != "" {
		return "Bearer " + t
	}
	return ""
}

// holdsNHSNumber reports whether any string in a decoded JSON value holds
// a valid NHS number.
func holdsNHSNumber(v any) bool {
	switch x := v.(type) {
	case string:
		return nhsnumber.Contains(x)
	case map[string]any:
		for k, item := range x {
			if nhsnumber.Contains(k) || holdsNHSNumber(item) {
				return true
			}
		}
	case []any:
		for _, item := range x {
			if holdsNHSNumber(item) {
				return true
			}
		}
	}
	return false
}
