package verification

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"

	"github.com/caldicott/caldicott/appservice/kit"
	"github.com/caldicott/caldicott/config"
)

func TestPollTimeout(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	long := 20 * time.Second
	for _, tc := range []struct {
		name      string
		lastEvent time.Time
		want      time.Duration
	}{
		{"no event since start", time.Time{}, long},
		{"an event a moment ago", now.Add(-100 * time.Millisecond), 0},
		{"an event just under quietFor ago", now.Add(-quietFor + time.Millisecond), 0},
		{"quiet for quietFor", now.Add(-quietFor), long},
		{"quiet for a minute", now.Add(-time.Minute), long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pollTimeout(tc.lastEvent, now, long); got != tc.want {
				t.Errorf("pollTimeout = %s, want %s", got, tc.want)
			}
		})
	}
}

// syncRecorder is the /sync end of a homeserver that has nothing to say:
// a long poll waits until its caller gives up.
type syncRecorder struct {
	mu       sync.Mutex
	timeouts []string
	at       []time.Time
	cut      int // long polls ended by the client
}

func (r *syncRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if strings.HasSuffix(req.URL.Path, "/filter") {
		_, _ = w.Write([]byte(`{"filter_id":"1"}`))
		return
	}
	timeout := req.URL.Query().Get("timeout")
	r.mu.Lock()
	r.timeouts, r.at = append(r.timeouts, timeout), append(r.at, time.Now())
	r.mu.Unlock()
	if timeout != "0" {
		select {
		case <-req.Context().Done():
			r.mu.Lock()
			r.cut++
			r.mu.Unlock()
			return
		case <-time.After(10 * time.Second):
		}
	}
	_, _ = w.Write([]byte(`{"next_batch":"s1"}`))
}

func (r *syncRecorder) snapshot() ([]string, []time.Time, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.timeouts...), append([]time.Time(nil), r.at...), r.cut
}

// While the rooms are quiet the bot long-polls; the first room event ends
// that poll, and while events keep coming it polls without waiting, no
// more often than busyPollMin.
func TestDeviceListWatchPollsWhileRoomsAreBusy(t *testing.T) {
	rec := &syncRecorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	cli, err := mautrix.NewClient(srv.URL, "@bot:trust", "token")
	if err != nil {
		t.Fatal(err)
	}
	v := &Verification{Kit: &kit.Kit{Cfg: &config.Config{}, Bot: cli, Log: zerolog.Nop()}, activity: newRoomActivity()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); v.WatchDeviceLists(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func([]string, int) bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if timeouts, _, cut := rec.snapshot(); ok(timeouts, cut) {
				return
			}
		}
		timeouts, _, cut := rec.snapshot()
		t.Fatalf("%s: requests with timeouts %v, %d cut short", what, timeouts, cut)
	}
	waitFor("a long poll while quiet", func(ts []string, _ int) bool { return len(ts) == 1 && ts[0] == "20000" })

	// Events keep arriving for the next few seconds.
	stop := make(chan struct{})
	go func() {
		for {
			v.NoteRoomEvents()
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	waitFor("the long poll ended by the first event", func(_ []string, cut int) bool { return cut == 1 })
	waitFor("polls while busy", func(ts []string, _ int) bool { return len(ts) >= 3 })
	close(stop)
	timeouts, at, cut := rec.snapshot()
	if cut != 1 {
		t.Errorf("%d long polls cut short, want 1", cut)
	}
	for i, timeout := range timeouts[1:] {
		if timeout != "0" {
			t.Errorf("request %d while busy asked to wait %s ms, want 0", i+2, timeout)
		}
	}
	for i := 2; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < busyPollMin {
			t.Errorf("polls %d and %d only %s apart, want at least %s", i, i+1, gap, busyPollMin)
		}
	}
}

// The pause between polls while busy follows what a poll costs the
// homeserver: ten times its duration, from a quarter of a second to two.
func TestBusyGap(t *testing.T) {
	for _, tc := range []struct {
		took, want time.Duration
	}{
		{0, busyPollMin},
		{5 * time.Millisecond, busyPollMin},
		{25 * time.Millisecond, busyPollMin},
		{60 * time.Millisecond, 600 * time.Millisecond},
		{200 * time.Millisecond, busyPollMax},
		{5 * time.Second, busyPollMax},
	} {
		if got := busyGap(tc.took); got != tc.want {
			t.Errorf("busyGap(%s) = %s, want %s", tc.took, got, tc.want)
		}
	}
}
