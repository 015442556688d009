package bench_test

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"
)

// removalSteps is where one invitation's removal spent its time, from
// Caldicott's debug log of its requests while handling the invite event.
type removalSteps struct {
	Deliver float64 `json:"deliver_ms"` // the invite call returned → Caldicott's first request about it
	State   float64 `json:"state_ms"`   // its reads of the room's state (Dendrite)
	Decide  float64 `json:"decide_ms"`  // the rest until the kick was sent (Caldicott)
	Kick    float64 `json:"kick_ms"`    // POST /kick (Dendrite)
	ToSync  float64 `json:"to_sync_ms"` // the kick answered → the observer's /sync shows the leave
}

// stepSummary is the median and 90th percentile of each step in one condition.
type stepSummary struct {
	Condition string             `json:"condition"`
	N         int                `json:"n"`
	P50       map[string]float64 `json:"p50_ms"`
	P90       map[string]float64 `json:"p90_ms"`
}

// removalBreakdown splits Caldicott's samples into steps: what Dendrite
// took (delivering the invite, answering reads, the kick, the observer's
// sync) and what Caldicott took itself.
func removalBreakdown(t *testing.T, logPath string, samples []latencySample, conditions map[string]func(latencySample) bool) []stepSummary {
	t.Helper()
	type req struct {
		room       id.RoomID
		kind       string
		start, end time.Time
	}
	byEvent := map[string][]req{}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"Request completed"`) || !strings.Contains(string(line), `"m.room.member"`) {
			continue
		}
		var rec struct {
			Time      time.Time `json:"time"`
			EventID   string    `json:"event_id"`
			EventType string    `json:"event_type"`
			URL       string    `json:"url"`
			Duration  float64   `json:"duration"` // ms
		}
		if json.Unmarshal(line, &rec) != nil || rec.EventType != "m.room.member" || rec.EventID == "" {
			continue
		}
		u, err := url.Parse(rec.URL)
		if err != nil {
			continue
		}
		rest, ok := strings.CutPrefix(u.Path, "/_matrix/client/v3/rooms/")
		if !ok {
			continue
		}
		room, kind, _ := strings.Cut(rest, "/")
		kind, _, _ = strings.Cut(kind, "/")
		start := rec.Time.Add(-time.Duration(rec.Duration * float64(time.Millisecond)))
		byEvent[rec.EventID] = append(byEvent[rec.EventID], req{room: id.RoomID(room), kind: kind, start: start, end: rec.Time})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", logPath, err)
	}
	// The invite event of a sample is the one whose handling kicked in
	// the sample's room between the invitation and the revocation.
	stepsOf := func(s latencySample) (removalSteps, bool) {
		for _, reqs := range byEvent {
			var kick *req
			first := time.Time{}
			for i, r := range reqs {
				if r.room == s.Room && r.kind == "kick" && r.end.After(s.Invited.Add(-time.Second)) && !r.end.After(s.Revoked) {
					kick = &reqs[i]
				}
				if first.IsZero() || r.start.Before(first) {
					first = r.start
				}
			}
			if kick == nil {
				continue
			}
			st := removalSteps{Deliver: ms(first.Sub(s.Invited)), Kick: ms(kick.end.Sub(kick.start)), ToSync: ms(s.Revoked.Sub(kick.end))}
			for _, r := range reqs {
				if r.kind == "state" && r.end.Before(kick.start) {
					st.State += ms(r.end.Sub(r.start))
				}
			}
			st.Decide = ms(kick.start.Sub(first)) - st.State
			return st, true
		}
		return removalSteps{}, false
	}
	var out []stepSummary
	for _, c := range []string{"caldicott-idle", "caldicott-sweeping"} {
		cols := map[string][]float64{}
		n := 0
		for _, s := range samples {
			if s.Enforcer != "caldicott" || !conditions[c](s) {
				continue
			}
			st, ok := stepsOf(s)
			if !ok {
				continue
			}
			n++
			for k, v := range map[string]float64{"deliver": st.Deliver, "state": st.State, "decide": st.Decide, "kick": st.Kick, "to_sync": st.ToSync} {
				cols[k] = append(cols[k], v)
			}
		}
		sum := stepSummary{Condition: c, N: n, P50: map[string]float64{}, P90: map[string]float64{}}
		for k, v := range cols {
			sum.P50[k], sum.P90[k] = percentile(v, 50), percentile(v, 90)
		}
		out = append(out, sum)
	}
	return out
}
