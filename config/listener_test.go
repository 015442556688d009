package config

import (
	"strings"
	"testing"
	"time"
)

// Every listener timeout is on by default and none can be turned off or
// ordered so that a request being read loses its answer.
func TestListenerTimeouts(t *testing.T) {
	cfg, err := Parse([]byte(validConfig))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.AppService.Timeouts
	if got.ReadHeader.Duration != 10*time.Second || got.Read.Duration != time.Minute || got.Write.Duration != 2*time.Minute || got.Idle.Duration != 2*time.Minute {
		t.Errorf("defaults = %+v", got)
	}
	tests := []struct{ timeouts, want string }{
		{`{read_header: 2s, read: 5s, write: 5s, idle: 30s}`, ""},
		{`{read: 0s}`, "appservice.timeouts.read: 0s is too short"},
		{`{idle: 0s}`, "appservice.timeouts.idle: 0s is too short"},
		{`{write: 10ms}`, "appservice.timeouts.write: 10ms is too short"},
		{`{read_header: 90s}`, "appservice.timeouts.read_header: 1m30s is more than read (1m0s)"},
		{`{read: 5m}`, "appservice.timeouts.write: 2m0s is less than read (5m0s)"},
	}
	for _, tt := range tests {
		yml := strings.Replace(validConfig, "appservice:\n", "appservice:\n  timeouts: "+tt.timeouts+"\n", 1)
		_, err := Parse([]byte(yml))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.timeouts, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.timeouts, err, tt.want)
		}
	}
}
