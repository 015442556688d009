package bench_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"
)

// withinRun: the invitation was made while a reconciliation ran (its
// revocation may come after that reconciliation ends).
func withinRun(s latencySample, runs []jobRun) bool {
	for _, r := range runs {
		if !s.Invited.Before(r.Start) && !s.Invited.After(r.End) {
			return true
		}
	}
	return false
}

// reconciledRoomsSince is the room count of the first reconciliation
// logged after since (the start-up one, after a restart). The log is read a
// line at a time: the harness shares the process whose resident memory the
// scale benchmark measures, and at 10,000 rooms the log is over 80 MB (read
// whole, twice over as a string, it set the 10,000-room step's peak).
func reconciledRoomsSince(t *testing.T, logPath string, since time.Time) int64 {
	t.Helper()
	var rooms int64
	found := false
	scanLog(t, logPath, `"Reconciled rooms"`, func(line []byte) {
		var rec struct {
			Time  time.Time `json:"time"`
			Rooms int64     `json:"rooms"`
		}
		if !found && json.Unmarshal(line, &rec) == nil && !rec.Time.Before(since) {
			rooms, found = rec.Rooms, true
		}
	})
	return rooms
}

// jobRun is one run of a Caldicott job, from its log.
type jobRun struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Rooms int64     `json:"rooms"`
	// Open: started and not yet done when the log was read (End is then).
	Open bool `json:"open,omitempty"`
}

func (r jobRun) Took() time.Duration { return r.End.Sub(r.Start) }

// reconciliations reads Caldicott's log for the periodic reconciliations
// that ended after since: each "Job done" line carries how long it took,
// and the "Reconciled rooms" line before it how many rooms it checked.
func reconciliations(t *testing.T, logPath string, since time.Time) []jobRun {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs []jobRun
	var rooms int64
	var started time.Time // of a run not yet done
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"Reconciled rooms"`) && !strings.Contains(string(line), `"reconcile"`) {
			continue
		}
		var rec struct {
			Time    time.Time `json:"time"`
			Message string    `json:"message"`
			Job     string    `json:"job"`
			Took    float64   `json:"took"` // ms
			Rooms   int64     `json:"rooms"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Time.Before(since) {
			continue
		}
		switch {
		case rec.Message == "Reconciled rooms":
			rooms = rec.Rooms
		case rec.Message == "Job started" && rec.Job == "reconcile":
			started = rec.Time
		case rec.Message == "Job done" && rec.Job == "reconcile":
			took := time.Duration(rec.Took * float64(time.Millisecond))
			runs = append(runs, jobRun{Start: rec.Time.Add(-took), End: rec.Time, Rooms: rooms})
			rooms, started = 0, time.Time{} // a run that lists no rooms logs no count
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", logPath, err)
	}
	if !started.IsZero() {
		// Paced while people are about, a run can outlast the sampling.
		runs = append(runs, jobRun{Start: started, End: time.Now(), Open: true})
	}
	return runs
}

// writeProblems lists counted warnings and errors (logProblems) under a
// heading, alphabetically by message so runs compare.
func writeProblems(b *strings.Builder, heading string, problems map[string]int) {
	if len(problems) == 0 {
		return
	}
	fmt.Fprintf(b, "%s:\n", heading)
	for _, m := range slices.Sorted(maps.Keys(problems)) {
		fmt.Fprintf(b, "  %5d× %s\n", problems[m], m)
	}
}

// logProblems counts Caldicott's warnings and errors since a time, by message.
func logProblems(t *testing.T, logPath string, since time.Time) map[string]int {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var rec struct {
			Time    time.Time `json:"time"`
			Level   string    `json:"level"`
			Message string    `json:"message"`
			Error   string    `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Time.Before(since) {
			continue
		}
		if rec.Level == "warn" || rec.Level == "error" {
			msg := rec.Level + ": " + rec.Message
			if rec.Error != "" {
				msg += ": " + rec.Error
			}
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			out[msg]++
		}
	}
	return out
}

// markQueuedBehindReconciliation marks the samples whose room was read by
// the reconciliation (GET /state outside any event's handling, in
// Caldicott's debug log) after the invitation and before its revocation.
func markQueuedBehindReconciliation(t *testing.T, logPath string, since time.Time, samples []latencySample) {
	t.Helper()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reads := map[id.RoomID][]time.Time{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `"Request completed"`) || !strings.Contains(line, "/state?") || strings.Contains(line, `"event_id"`) {
			continue
		}
		var rec struct {
			Time   time.Time `json:"time"`
			Method string    `json:"method"`
			URL    string    `json:"url"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Method != "GET" || rec.Time.Before(since) {
			continue
		}
		u, err := url.Parse(rec.URL)
		if err != nil {
			continue
		}
		room, inRooms := strings.CutPrefix(u.Path, "/_matrix/client/v3/rooms/")
		if room, isState := strings.CutSuffix(room, "/state"); inRooms && isState {
			reads[id.RoomID(room)] = append(reads[id.RoomID(room)], rec.Time)
		}
	}
	for i, s := range samples {
		for _, at := range reads[s.Room] {
			if at.After(s.Invited) && at.Before(s.Revoked) {
				samples[i].QueuedBehindReconciliation = true
			}
		}
	}
}
