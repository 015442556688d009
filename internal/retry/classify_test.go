package retry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"maunium.net/go/mautrix"
)

// selfMarked is how the store marks a database failure: a Transient method.
type selfMarked struct{ transient bool }

func (e selfMarked) Error() string   { return "database" }
func (e selfMarked) Transient() bool { return e.transient }

func TestIsTransient(t *testing.T) {
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	_, fileErr := os.Stat("/nonexistent")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"cancelled", context.Canceled, false},
		{"cancelled, even when marked", Transient(fmt.Errorf("stop: %w", context.Canceled)), false},
		{"a plain error", errors.New("M_FORBIDDEN"), false},
		{"a file error", fileErr, false},
		{"marked", Transient(errors.New("db down")), true},
		{"marked, then wrapped", fmt.Errorf("save: %w", Transient(errors.New("db down"))), true},
		{"marked by its own method", fmt.Errorf("save: %w", selfMarked{true}), true},
		{"its own method says no", selfMarked{false}, false},
		{"deadline exceeded", context.DeadlineExceeded, true},
		{"HTTP 502", fmt.Errorf("wrapped: %w", mautrix.HTTPError{Response: resp(502)}), true},
		{"HTTP 503", mautrix.HTTPError{Response: resp(503)}, true},
		{"HTTP 429", mautrix.HTTPError{Response: resp(429)}, true},
		{"HTTP 403", mautrix.HTTPError{Response: resp(403)}, false},
		{"HTTP 404", fmt.Errorf("wrapped: %w", mautrix.HTTPError{Response: resp(404)}), false},
		{"HTTP 500 by pointer", &mautrix.HTTPError{Response: resp(500)}, true},
		{"HTTP 403 by pointer", &mautrix.HTTPError{Response: resp(403)}, false},
		{"no answer at all", mautrix.HTTPError{WrappedError: errors.New("connection refused")}, true},
		{"a network error", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{"a URL error", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("EOF")}, true},
	}
	for _, tt := range tests {
		if got := IsTransient(tt.err); got != tt.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
	if Transient(nil) != nil {
		t.Error("Transient(nil) is not nil")
	}
}

func TestRetryAfter(t *testing.T) {
	limited := func(extra map[string]any) error {
		return fmt.Errorf("redact: %w", mautrix.HTTPError{Response: &http.Response{StatusCode: 429},
			RespError: &mautrix.RespError{ErrCode: "M_LIMIT_EXCEEDED", ExtraData: extra}})
	}
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"asks 1.5s", limited(map[string]any{"retry_after_ms": float64(1500)}), 1500 * time.Millisecond},
		{"says nothing", limited(nil), 0},
		{"says nonsense", limited(map[string]any{"retry_after_ms": "soon"}), 0},
		{"no answer", mautrix.HTTPError{WrappedError: errors.New("refused")}, 0},
		{"not HTTP", errors.New("db down"), 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.err); got != tt.want {
			t.Errorf("%s: RetryAfter = %s, want %s", tt.name, got, tt.want)
		}
	}
}
