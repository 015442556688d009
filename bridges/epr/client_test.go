package epr

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// outcome is an OperationOutcome as a server would send it.
func outcome(t *testing.T, issues ...fhir.OperationOutcomeIssue) []byte {
	t.Helper()
	data, err := encode(fhir.OperationOutcome{Issue: issues})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPost(t *testing.T) {
	comm, err := Build(record())
	if err != nil {
		t.Fatal(err)
	}
	created, err := encode(fhir.Communication{Id: ptr("c-1"), Status: fhir.EventStatusCompleted})
	if err != nil {
		t.Fatal(err)
	}
	badDate := outcome(t,
		fhir.OperationOutcomeIssue{Severity: fhir.IssueSeverityWarning, Code: fhir.IssueTypeInformational, Diagnostics: ptr("ignored warning")},
		fhir.OperationOutcomeIssue{Severity: fhir.IssueSeverityError, Code: fhir.IssueTypeStructure,
			Details: &fhir.CodeableConcept{Text: ptr("Invalid dateTime format")}, Expression: []string{"Communication.sent"}},
	)
	allOK, err := encode(fhir.OperationOutcome{Id: ptr("allok"), Issue: []fhir.OperationOutcomeIssue{{Severity: fhir.IssueSeverityInformation, Code: fhir.IssueTypeInformational}}})
	if err != nil {
		t.Fatal(err)
	}
	echoes := outcome(t, fhir.OperationOutcomeIssue{Severity: fhir.IssueSeverityError, Code: fhir.IssueTypeValue,
		Diagnostics: ptr("unknown patient 943 476 5919 " + strings.Repeat("x", 500))})

	tests := []struct {
		name      string
		status    int
		body      []byte
		location  string
		wantID    string
		transient bool
		rejected  int    // status of the *Rejected expected, 0 for none
		reason    string // in the Rejected reason or the error
	}{
		{"created, resource returned", 201, created, "", "c-1", false, 0, ""},
		{"found by If-None-Exist", 200, created, "", "c-1", false, 0, ""},
		{"created, minimal answer", 201, nil, "https://epr.example/fhir/R4/Communication/c-2/_history/1", "c-2", false, 0, ""},
		{"2xx naming nothing", 201, nil, "", "", false, 0, "gave no id"},
		{"2xx OperationOutcome with an id is no resource", 200, allOK, "", "", false, 0, "gave no id"},
		{"invalid resource", 400, badDate, "", "", false, 400, "Invalid dateTime format (at Communication.sent)"},
		{"unauthorised", 401, outcome(t, fhir.OperationOutcomeIssue{Severity: fhir.IssueSeverityError, Code: fhir.IssueTypeLogin, Diagnostics: ptr("Unauthorized")}), "", "", false, 401, "Unauthorized"},
		{"conditional create too broad", 412, nil, "", "", false, 412, "Precondition Failed"},
		{"not FHIR: body not quoted", 400, []byte("<html>bad request: K+ 6.1</html>"), "", "", false, 400, "Bad Request"},
		{"reason masked and bounded", 422, echoes, "", "", false, 422, "unknown patient [NHS number] xxx"},
		{"server down", 503, outcome(t, fhir.OperationOutcomeIssue{Severity: fhir.IssueSeverityError, Code: fhir.IssueTypeTransient, Diagnostics: ptr("maintenance")}), "", "", true, 0, "HTTP 503): maintenance"},
		{"server error", 500, nil, "", "", true, 0, "Internal Server Error"},
		{"rate limited", 429, nil, "", "", true, 0, "HTTP 429"},
		{"timed out", 408, nil, "", "", true, 0, "HTTP 408"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var gotBody []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				gotBody, _ = io.ReadAll(r.Body)
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.Header().Set("Content-Type", "application/fhir+json")
				w.WriteHeader(tt.status)
				_, _ = w.Write(tt.body)
			}))
			defer srv.Close()

			c := &Client{BaseURL: srv.URL + "/fhir/R4/", Token: "s3cret"}
			id, err := c.Post(context.Background(), comm)

			if got.Method != http.MethodPost || got.URL.Path != "/fhir/R4/Communication" {
				t.Errorf("request %s %s", got.Method, got.URL.Path)
			}
			if h := got.Header.Get("Content-Type"); h != "application/fhir+json" {
				t.Errorf("Content-Type %q", h)
			}
			if h := got.Header.Get("Authorization"); h != "Bearer s3cret" {
				t.Errorf("Authorization %q", h)
			}
			if !strings.HasPrefix(string(gotBody), `{"resourceType":"Communication"`) {
				t.Errorf("body %s", gotBody)
			}
			if id != tt.wantID {
				t.Errorf("id %q, want %q", id, tt.wantID)
			}
			if tt.wantID != "" {
				if err != nil {
					t.Fatalf("Post: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Post succeeded")
			}
			if IsTransient(err) != tt.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, !tt.transient, tt.transient)
			}
			// Logs name the status, never the EPR's text.
			if want := map[bool]int{true: tt.status}[tt.status >= 300]; HTTPStatus(err) != want {
				t.Errorf("HTTPStatus = %d, want %d", HTTPStatus(err), want)
			}
			var rej *Rejected
			if errors.As(err, &rej) != (tt.rejected != 0) {
				t.Fatalf("error %v (%T): Rejected? want status %d", err, err, tt.rejected)
			}
			if rej != nil {
				if rej.Status != tt.rejected {
					t.Errorf("Rejected.Status %d, want %d", rej.Status, tt.rejected)
				}
				if len(rej.Reason) > maxReason+len("…") {
					t.Errorf("reason is %d bytes long", len(rej.Reason))
				}
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			for _, patientData := range []string{"943 476 5919", "9434765919", "K+ 6.1"} {
				if strings.Contains(err.Error(), patientData) {
					t.Errorf("error %q carries patient data", err)
				}
			}
		})
	}
}

func TestPostConditionalCreate(t *testing.T) {
	comm, err := Build(record())
	if err != nil {
		t.Fatal(err)
	}
	var header string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Get("If-None-Exist")
		w.Header().Set("Location", "/Communication/x")
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	if _, err := (&Client{BaseURL: srv.URL}).Post(context.Background(), comm); err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(header)
	if err != nil {
		t.Fatalf("If-None-Exist %q: %v", header, err)
	}
	// "$" is escaped for FHIR search; "+" and "/" survive URL decoding.
	if want := `urn:caldicott:matrix-event|\$Ev3nt+id/with=base64`; q.Get("identifier") != want {
		t.Errorf("If-None-Exist identifier %q, want %q (header %q)", q.Get("identifier"), want, header)
	}

	comm.Identifier = nil
	if _, err := (&Client{BaseURL: srv.URL}).Post(context.Background(), comm); err != nil {
		t.Fatal(err)
	}
	if header != "" {
		t.Errorf("If-None-Exist %q sent for a communication with no event ID", header)
	}
}

func TestPostNoToken(t *testing.T) {
	comm, _ := Build(record())
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Values("Authorization")
		w.Header().Set("Location", "/Communication/x")
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	if _, err := (&Client{BaseURL: srv.URL}).Post(context.Background(), comm); err != nil {
		t.Fatal(err)
	}
	if len(auth) != 0 {
		t.Errorf("Authorization sent without a token: %q", auth)
	}
}

func TestPostNetworkFailure(t *testing.T) {
	comm, _ := Build(record())
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"connection refused", nil},
		{"connection cut before the answer", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			base := srv.URL
			if tt.handler == nil {
				srv.Close()
			} else {
				defer srv.Close()
			}
			_, err := (&Client{BaseURL: base}).Post(context.Background(), comm)
			if err == nil || !IsTransient(err) {
				t.Fatalf("Post error %v: want a transient one", err)
			}
			var rej *Rejected
			if errors.As(err, &rej) {
				t.Errorf("network failure reported as a rejection: %v", err)
			}
			if s := HTTPStatus(err); s != 0 {
				t.Errorf("HTTPStatus = %d for a network failure, want 0", s)
			}
		})
	}
}

func TestPostCancelled(t *testing.T) {
	comm, _ := Build(record())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Client{BaseURL: srv.URL}).Post(ctx, comm)
	if !IsTransient(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Post error %v: want transient and context.Canceled", err)
	}
}
