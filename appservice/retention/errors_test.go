package retention

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/appservice/kit"
)

// The sweep's requests are tried four times when the homeserver is busy
// (waiting as its rate limit asks), and once when it refuses outright.
func TestRetry(t *testing.T) {
	limited := mautrix.HTTPError{
		Response:  &http.Response{StatusCode: http.StatusTooManyRequests},
		RespError: &mautrix.RespError{ErrCode: "M_LIMIT_EXCEEDED", ExtraData: map[string]any{"retry_after_ms": float64(1)}},
	}
	refused := mautrix.HTTPError{
		Response:  &http.Response{StatusCode: http.StatusForbidden},
		RespError: &mautrix.RespError{ErrCode: "M_FORBIDDEN", Err: "not allowed"},
	}
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   string
	}{
		{"succeeds at once", []error{nil}, 1, ""},
		{"rate limited, then through", []error{limited, limited, nil}, 3, ""},
		{"rate limited every time: four tries", []error{limited, limited, limited, limited, nil}, 4, "after 4 tries"},
		{"refused: not retried", []error{refused, nil}, 1, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Retention{Kit: &kit.Kit{}}
			calls := 0
			err := r.retry(context.Background(), func() error {
				calls++
				return tt.errs[calls-1]
			})
			if calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if tt.wantErr == "after 4 tries" && !errors.As(err, &mautrix.HTTPError{}) {
				t.Errorf("the homeserver's answer is lost from %v", err)
			}
		})
	}
}
