package hardening

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/store"
)

func TestLeaderName(t *testing.T) {
	tests := []struct{ holder, want string }{
		{"ward-3/4242/a1b2c3d4", "ward-3/4242"},
		{"host/1/aa", "host/1"},
		{"a", "a"},                   // a test's or an older holder's name
		{"a/b/c/d", "a/b/c/d"},       // not this shape: shown whole
		{"/nohost/aa", "/nohost/aa"}, // no host: shown whole
	}
	for _, tt := range tests {
		if got := LeaderName(tt.holder); got != tt.want {
			t.Errorf("LeaderName(%q) = %q, want %q", tt.holder, got, tt.want)
		}
	}
}

// The status's last line names the leader by host and process, its epoch
// and when its tenure began; nothing when nobody has led.
func TestLeaderLine(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "c.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := &Hardening{Kit: &kit.Kit{Store: st, Log: zerolog.Nop()}}
	if got := h.leaderLine(ctx); got != "" {
		t.Fatalf("before anyone led: %q, want nothing", got)
	}
	if _, err := st.AcquireLease(ctx, "ward-3/4242/a1b2c3d4", 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^\nLeading: ward-3/4242 \(epoch 1\), since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$`)
	if got := h.leaderLine(ctx); !want.MatchString(got) {
		t.Fatalf("leader line %q does not match %s", got, want)
	}
}
