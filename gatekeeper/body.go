package gatekeeper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// readJudgedBody reads a body the gatekeeper must judge, up to max bytes,
// and puts an identical copy back for Dendrite. A body too large, or one
// that cannot be read whole, is refused: what cannot be judged is not
// passed on.
func readJudgedBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *Refusal) {
	if r.ContentLength > max {
		return nil, tooLarge(max)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge(max)
	case err != nil:
		return nil, &Refusal{Status: http.StatusBadRequest, ErrCode: "M_BAD_JSON", Reason: "The request's body could not be read whole, so it was not passed on.", Rule: ReasonBodyUnreadable}
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	// Dendrite receives the body with its length: re-framed, it can no
	// longer be read two ways (chunked and by Content-Length).
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	return body, nil
}

func tooLarge(max int64) *Refusal {
	return &Refusal{Status: http.StatusRequestEntityTooLarge, ErrCode: "M_TOO_LARGE", Reason: fmt.Sprintf("The request is larger than the %d bytes allowed here.", max), Rule: ReasonTooLarge}
}

// decodeJSON reads body into v: M_NOT_JSON when it is not JSON at all,
// M_BAD_JSON when it is JSON of the wrong shape.
func decodeJSON(body []byte, v any) *Refusal {
	if !json.Valid(body) {
		return &Refusal{Status: http.StatusBadRequest, ErrCode: "M_NOT_JSON", Reason: "The request's body is not valid JSON.", Rule: ReasonNotJSON}
	}
	if hasDuplicateKeys(body) {
		return badJSON("The request's body names the same field twice, so it could be read two ways; it was not passed on.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badJSON("The request's body does not have the fields this request needs, of the right types.")
	}
	return nil
}
