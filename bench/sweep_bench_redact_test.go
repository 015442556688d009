package bench_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/internal/testenv"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// redactionRun is one deleter's pass over a room of expired events.
type redactionRun struct {
	Who    string    `json:"who"` // caldicott or bare
	Room   id.RoomID `json:"room"`
	Events int       `json:"events"`
	// Redacted and Twice: the room's history read afterwards — events
	// redacted, and events redacted more than once.
	Redacted int `json:"redacted"`
	Twice    int `json:"twice"`
	// From the redaction events' homeserver timestamps: first to last.
	FirstTS    int64   `json:"first_ts"`
	LastTS     int64   `json:"last_ts"`
	ServerRate float64 `json:"server_events_per_s"`
	// WallSecs: for Caldicott, from the hold being lifted to the last
	// deletion recorded; for the bare client, its loop from start to end.
	WallSecs float64 `json:"wall_s"`
	WallRate float64 `json:"wall_events_per_s"`
	// The redaction requests (PUT /redact) as the deleter timed them.
	Requests   int     `json:"requests"`
	RequestP50 float64 `json:"request_p50_ms"`
	RequestP90 float64 `json:"request_p90_ms"`
	RequestMax float64 `json:"request_max_ms"`
	RequestSum float64 `json:"request_sum_s"`
	// The first and last redaction request, by the deleter's clock.
	ReqFirst time.Time `json:"req_first"`
	ReqLast  time.Time `json:"req_last"`
	// Caldicott's other requests during its pass (history pages, room state).
	OtherRequests map[string]requestTotal `json:"other_requests,omitempty"`
	CPU           cpuUse                  `json:"cpu"`
}

type requestTotal struct {
	N      int     `json:"n"`
	SumSec float64 `json:"sum_s"`
}

// redactionTimes reads a room's whole history and returns, for each
// event in targets, the homeserver timestamps of the redactions of it
// sent by by.
func redactionTimes(t *testing.T, cli *mautrix.Client, room id.RoomID, by id.UserID, targets map[id.EventID]bool) map[id.EventID][]int64 {
	t.Helper()
	out := map[id.EventID][]int64{}
	testenv.EachRedaction(t, cli, room, func(e *event.Event, target id.EventID) {
		if e.Sender == by && targets[target] {
			out[target] = append(out[target], e.Timestamp)
		}
	})
	return out
}

// checkRedactions fills a run's counts and server-side rate from the
// room's history.
func checkRedactions(t *testing.T, cli *mautrix.Client, run *redactionRun, by id.UserID, ids []id.EventID) {
	t.Helper()
	targets := make(map[id.EventID]bool, len(ids))
	for _, e := range ids {
		targets[e] = true
	}
	times := redactionTimes(t, cli, run.Room, by, targets)
	var all []int64
	for _, ts := range times {
		run.Redacted++
		if len(ts) > 1 {
			run.Twice++
		}
		all = append(all, ts...)
	}
	if len(all) > 1 {
		slices.Sort(all)
		run.FirstTS, run.LastTS = all[0], all[len(all)-1]
		if span := float64(run.LastTS-run.FirstTS) / 1000; span > 0 {
			run.ServerRate = float64(len(all)-1) / span
		}
	}
	if run.Redacted != len(ids) || run.Twice > 0 {
		t.Errorf("%s: %d of %d events redacted, %d more than once", run.Who, run.Redacted, len(ids), run.Twice)
	}
}

// bareRedact is the yardstick for the sweep: the room's admin deletes
// every event herself, one PUT /redact after another (each with its own
// transaction ID, as a client does), as fast as the homeserver answers.
func bareRedact(t *testing.T, admin *mautrix.Client, room id.RoomID, ids []id.EventID) redactionRun {
	t.Helper()
	run := redactionRun{Who: "bare", Room: room, Events: len(ids)}
	took := make([]float64, 0, len(ids))
	began := time.Now()
	for i, e := range ids {
		start := time.Now()
		_, err := admin.RedactEvent(ctx, room, e, mautrix.ReqRedact{Reason: "expired", TxnID: fmt.Sprintf("bench-%d-%s", i, randomHex(4))})
		if err != nil {
			t.Fatalf("bare client redacts %s: %v", e, err)
		}
		took = append(took, ms(time.Since(start)))
		if i == 0 {
			run.ReqFirst = start
		}
	}
	run.ReqLast = time.Now()
	run.WallSecs = time.Since(began).Seconds()
	run.WallRate = float64(len(ids)) / run.WallSecs
	run.Requests = len(took)
	run.RequestP50, run.RequestP90, run.RequestMax = percentile(took, 50), percentile(took, 90), percentile(took, 100)
	for _, d := range took {
		run.RequestSum += d / 1000
	}
	return run
}

// caldicottRequests reads, from Caldicott's debug log, the requests it
// made about room between from and to: the redactions' durations, and
// the other requests' counts and total time by kind.
func caldicottRequests(t *testing.T, logPath string, room id.RoomID, from, to time.Time, run *redactionRun) {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prefix := "/_matrix/client/v3/rooms/" + room.String() + "/"
	var redacts []float64
	others := map[string]requestTotal{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"Request completed"`) {
			continue
		}
		var rec struct {
			Time     time.Time `json:"time"`
			Method   string    `json:"method"`
			URL      string    `json:"url"`
			Duration float64   `json:"duration"` // ms
		}
		if json.Unmarshal(line, &rec) != nil || rec.Time.Before(from) || rec.Time.After(to) {
			continue
		}
		u, err := url.Parse(rec.URL)
		if err != nil {
			continue
		}
		rest, ok := strings.CutPrefix(u.Path, prefix)
		if !ok {
			continue
		}
		kind, _, _ := strings.Cut(rest, "/")
		if kind == "redact" && rec.Method == "PUT" {
			redacts = append(redacts, rec.Duration)
			if run.ReqFirst.IsZero() {
				run.ReqFirst = rec.Time.Add(-time.Duration(rec.Duration * float64(time.Millisecond)))
			}
			run.ReqLast = rec.Time
			continue
		}
		o := others[rec.Method+" "+kind]
		o.N++
		o.SumSec += rec.Duration / 1000
		others[rec.Method+" "+kind] = o
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", logPath, err)
	}
	run.Requests = len(redacts)
	run.RequestP50, run.RequestP90, run.RequestMax = percentile(redacts, 50), percentile(redacts, 90), percentile(redacts, 100)
	for _, d := range redacts {
		run.RequestSum += d / 1000
	}
	run.OtherRequests = others
}
