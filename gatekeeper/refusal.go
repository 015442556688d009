package gatekeeper

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Refusal is a request turned away before Dendrite sees it.
type Refusal struct {
	Status  int
	ErrCode string
	// Reason is the error shown to the person: plain English they can act on.
	Reason string
	// Rule names why, for metrics and logs (never content, never a user).
	Rule string
	// RetryAfterMS, when set (a 429), is sent as retry_after_ms and as
	// the Retry-After header, in whole seconds.
	RetryAfterMS int64
}

// Reasons (metric label values) for refusals that no policy rule names.
const (
	ReasonTooLarge         = "too_large"
	ReasonNotJSON          = "not_json"
	ReasonBadJSON          = "bad_json"
	ReasonStateUnknown     = "room_state_unavailable"
	ReasonDirectoryUnknown = "directory_unavailable"
	ReasonNoOrigin         = "no_origin"
	ReasonOutsideOrigin    = "origin_outside_federation"
	ReasonPatientID        = "patient_id"
	ReasonBodyUnreadable   = "body_unreadable"
	ReasonThirdPartyInvite = "third_party_invite"
	ReasonRateLimited      = "rate_limited"
)

func forbidden(rule, reason string) *Refusal {
	return &Refusal{Status: http.StatusForbidden, ErrCode: "M_FORBIDDEN", Reason: reason, Rule: rule}
}

func badJSON(reason string) *Refusal {
	return &Refusal{Status: http.StatusBadRequest, ErrCode: "M_BAD_JSON", Reason: reason, Rule: ReasonBadJSON}
}

// write sends the refusal as the Matrix error JSON clients show.
func (f *Refusal) write(w http.ResponseWriter) {
	answer := map[string]any{"errcode": f.ErrCode, "error": f.Reason}
	if f.RetryAfterMS > 0 {
		answer["retry_after_ms"] = f.RetryAfterMS
		w.Header().Set("Retry-After", strconv.FormatInt((f.RetryAfterMS+999)/1000, 10))
	}
	body, _ := json.Marshal(answer)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}
