package epr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Client posts to a trust's EPR over its FHIR R4 API.
type Client struct {
	// BaseURL is the FHIR base, e.g. "https://epr.trust-a.nhs.uk/fhir/R4".
	BaseURL string
	// Token, if set, is sent as "Authorization: Bearer <Token>".
	Token string
	// HTTP is the client to use; nil means one with a 30-second timeout.
	HTTP *http.Client
}

const (
	fhirJSON = "application/fhir+json"
	// maxResponse bounds what is read of an answer: a created resource or
	// an OperationOutcome is far smaller.
	maxResponse = 1 << 20
)

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// Post files comm in the EPR and returns the id the EPR gave it. When comm
// carries a SystemMatrixEvent identifier (Build sets one) the create is
// conditional on it (If-None-Exist): if the EPR already holds a
// Communication for that event — an earlier attempt whose response was lost
// — it answers with that one and Post returns its id, so nothing is filed
// twice.
//
// A refusal is a *Rejected; a failure worth retrying satisfies IsTransient.
func (c *Client) Post(ctx context.Context, comm fhir.Communication) (string, error) {
	body, err := encode(comm)
	if err != nil {
		return "", fmt.Errorf("post communication: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/Communication", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("post communication: %w", err)
	}
	req.Header.Set("Content-Type", fhirJSON)
	req.Header.Set("Accept", fhirJSON)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if cond := ifNoneExist(comm); cond != "" {
		req.Header.Set("If-None-Exist", cond)
	}
	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = defaultHTTP
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return "", &transientError{err: fmt.Errorf("post communication: %w", err)}
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))

	switch status := resp.StatusCode; {
	case status >= 200 && status < 300:
		if id := createdID(data, resp.Header.Get("Location")); id != "" {
			return id, nil
		}
		if readErr != nil {
			// Stored, probably, but unheard: a retry finds it.
			return "", &transientError{fmt.Errorf("read EPR answer to a communication (HTTP %d): %w", status, readErr), status}
		}
		return "", fmt.Errorf("EPR accepted the communication (HTTP %d) but gave no id for it", status)
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return "", &transientError{fmt.Errorf("EPR unavailable (HTTP %d): %s", status, reason(status, data)), status}
	case status >= 400:
		return "", &Rejected{Status: status, Reason: reason(status, data)}
	default:
		return "", fmt.Errorf("EPR answered a communication with HTTP %d", status)
	}
}

// ifNoneExist returns the search that finds an existing Communication for
// the same Matrix event, URL-encoded (event IDs hold "+" and "/"), with the
// value escaped as FHIR search requires ("$" and "|" are special there).
func ifNoneExist(comm fhir.Communication) string {
	for _, ident := range comm.Identifier {
		if ident.System != nil && *ident.System == SystemMatrixEvent && ident.Value != nil && *ident.Value != "" {
			return url.Values{"identifier": {SystemMatrixEvent + "|" + escapeSearch(*ident.Value)}}.Encode()
		}
	}
	return ""
}

var searchEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `$`, `\$`, `,`, `\,`)

// escapeSearch escapes a FHIR search parameter value.
func escapeSearch(v string) string { return searchEscaper.Replace(v) }

// createdID finds the id of the created (or found) Communication in the
// answer's body or, for a server answering return=minimal, its Location
// (<base>/Communication/<id>[/_history/<version>]).
func createdID(body []byte, location string) string {
	var res struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if json.Unmarshal(body, &res) == nil && res.ResourceType == "Communication" && res.ID != "" {
		return res.ID
	}
	u, err := url.Parse(location)
	if err != nil {
		return ""
	}
	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(segments) - 2; i >= 0; i-- {
		if segments[i] == "Communication" {
			return segments[i+1]
		}
	}
	return ""
}
