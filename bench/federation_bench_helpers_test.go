package bench_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/testenv"
	"github.com/caldicott/caldicott/internal/testenv/trust"
)

// registerStaff makes n accounts on hs, four at a time, and returns their
// clients.
func registerStaff(t *testing.T, hs *testenv.Homeserver, prefix string, n int) []*mautrix.Client {
	t.Helper()
	out := make([]*mautrix.Client, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			local := fmt.Sprintf("%s-%03d", prefix, i)
			cli, err := testenv.RegisterUser(hs.URL, local, "correct horse battery "+local, false)
			if err != nil {
				errs <- fmt.Errorf("register %s: %w", local, err)
				return
			}
			out[i] = cli
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// joinOverFederation has alice invite each of another trust's staff to
// room, and each join it through trust A's server, four at a time.
func joinOverFederation(t *testing.T, a *trust.Trust, alice *mautrix.Client, room id.RoomID, staff []*mautrix.Client) {
	t.Helper()
	for _, m := range staff {
		if _, err := alice.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: m.UserID}); err != nil {
			t.Fatalf("invite %s: %v", m.UserID, err)
		}
	}
	errs := make(chan error, len(staff))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, m := range staff {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			// The invitation reaches the invitee's server over federation;
			// until it has, the join is refused.
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
				if _, err = m.JoinRoom(ctx, room.String(), &mautrix.ReqJoinRoom{Via: []string{a.HS.ServerName}}); err == nil {
					return
				}
			}
			errs <- fmt.Errorf("%s joins over federation: %w", m.UserID, err)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "every one of them to be in the room", func() (bool, string) {
		m, err := alice.JoinedMembers(ctx, room)
		if err != nil {
			return false, err.Error()
		}
		missing := 0
		for _, s := range staff {
			if _, ok := m.Joined[s.UserID]; !ok {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d not joined", missing)
	})
}

func userIDs(clients []*mautrix.Client) []id.UserID {
	out := make([]id.UserID, len(clients))
	for i, c := range clients {
		out[i] = c.UserID
	}
	return out
}

func clinicalCount(t *testing.T, tr *trust.Trust) int {
	t.Helper()
	policies, err := tr.Store.RoomPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range policies {
		if p.Class == "clinical" {
			n++
		}
	}
	return n
}

// roomHistory reads a room's whole timeline, oldest first (Dendrite
// paginates forwards from "t0_0").
func roomHistory(t *testing.T, cli *mautrix.Client, room id.RoomID) []*event.Event {
	t.Helper()
	var out []*event.Event
	seen := map[id.EventID]bool{}
	from := "t0_0"
	for {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionForward, nil, 100)
		if err != nil {
			t.Fatalf("read the history of %s: %v", room, err)
		}
		for _, e := range resp.Chunk {
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
		if len(resp.Chunk) == 0 || resp.End == "" || resp.End == resp.Start {
			return out
		}
		from = resp.End
	}
}

// dendritePID finds the process of a trust's Dendrite by its config path.
func dendritePID(t *testing.T, tr *trust.Trust) int {
	t.Helper()
	want := filepath.Join(tr.HS.Dir, "dendrite.yaml")
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(data), want) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil {
			return pid
		}
	}
	t.Fatalf("no Dendrite process with config %s", want)
	return 0
}

// procCPU is a process's CPU time so far, in seconds (user and system).
func procCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	end := strings.LastIndexByte(string(data), ')')
	if end < 0 {
		return 0
	}
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// waitForQuietDendrite waits (up to within) until one Dendrite uses under
// a tenth of a core over five seconds, and says how long that took.
func waitForQuietDendrite(t *testing.T, pid int, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		c := procCPU(pid)
		time.Sleep(5 * time.Second)
		used := (procCPU(pid) - c) / 5
		if used < 0.1 {
			t.Logf("trust A's Dendrite quiet after %s", time.Since(began).Round(time.Second))
			return time.Since(began)
		}
		if time.Since(began) > within {
			t.Logf("trust A's Dendrite still uses %.0f%% of a core after %s; measuring anyway", 100*used, within)
			return time.Since(began)
		}
	}
}

// aclAdmits reads a room's server ACL and says whether it allows server.
func aclAdmits(cli *mautrix.Client, room id.RoomID, server string) (bool, error) {
	var acl struct {
		Allow []string `json:"allow"`
	}
	if err := cli.StateEvent(ctx, room, event.StateServerACL, "", &acl); err != nil {
		return false, err
	}
	return slices.Contains(acl.Allow, server), nil
}

// logTail reads a log's lines as they are written, from where it was when
// made, so that watching it costs little beside what is measured.
type logTail struct {
	path    string
	off     int64
	partial []byte
}

func newLogTail(t *testing.T, path string) *logTail {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return &logTail{path: path, off: fi.Size()}
}

// next returns the lines with message msg written since the last call,
// each with its time under "at".
func (l *logTail) next(t *testing.T, msg string) []map[string]any {
	t.Helper()
	f, err := os.Open(l.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(l.off, 0); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	l.off += int64(len(data))
	data = append(l.partial, data...)
	cut := bytes.LastIndexByte(data, '\n')
	l.partial = slices.Clone(data[cut+1:])
	var out []map[string]any
	quoted := []byte(`"` + msg + `"`)
	for _, line := range bytes.Split(data[:cut+1], []byte("\n")) {
		if !bytes.Contains(line, quoted) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil || rec["message"] != msg {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"]))
		if err != nil {
			continue
		}
		rec["at"] = at
		out = append(out, rec)
	}
	return out
}

const reprotectedMsg = "Clinical rooms brought in line with the federation's trusts"

// addTrustEverywhere has the federation's admin add a member trust in
// trust A's management room and times it reaching every clinical room's
// server ACL: Caldicott's log says when it has finished; a few rooms are
// watched meanwhile (one read a second each, so as not to load Dendrite);
// then every room is read once.
func addTrustEverywhere(t *testing.T, a *trust.Trust, admin *mautrix.Client, mgmt, listRoom id.RoomID, server string, rooms []id.RoomID, reader *mautrix.Client, dendA int) aclChange {
	t.Helper()
	res := aclChange{Server: server}
	var watched []id.RoomID
	for i := range min(5, len(rooms)) {
		watched = append(watched, rooms[i*len(rooms)/min(5, len(rooms))])
	}
	seen := map[id.RoomID]float64{}
	logA := newLogTail(t, a.LogPath)
	cpu, dA := takeCPUSnapshot(), procCPU(dendA)
	sent := time.Now()
	resp, err := admin.SendMessageEvent(ctx, mgmt, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: "!policy trust add " + server})
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	for deadline := sent.Add(10 * time.Minute); ; time.Sleep(time.Second) {
		for _, r := range watched {
			if _, ok := seen[r]; ok {
				continue
			}
			if ok, err := aclAdmits(reader, r, server); err == nil && ok {
				seen[r] = float64(time.Since(sent).Microseconds()) / 1000
			}
		}
		if line == nil {
			if lines := logA.next(t, reprotectedMsg); len(lines) > 0 {
				line = lines[0]
				t.Logf("Caldicott logged %q %s after the command: %v rooms", reprotectedMsg, line["at"].(time.Time).Sub(sent).Round(time.Millisecond), line["rooms"])
			}
		}
		if line != nil && len(seen) == len(watched) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after 10 minutes: log line seen %v, %d of %d watched rooms admit %s", line != nil, len(seen), len(watched), server)
			break
		}
	}
	res.CPU, res.DendriteACPU = cpuSince("member trust change", cpu, runtime.NumCPU()), procCPU(dendA)-dA
	for _, r := range watched {
		if ms, ok := seen[r]; ok {
			res.Sampled = append(res.Sampled, ms)
		}
	}
	if line != nil {
		res.LogTS = line["at"].(time.Time).UnixMilli()
		if n, ok := line["rooms"].(float64); ok {
			res.LogRooms = int64(n)
		}
	}
	cmd, err := admin.GetEvent(ctx, mgmt, resp.EventID)
	if err != nil {
		t.Fatal(err)
	}
	res.CommandTS = cmd.Timestamp
	for _, e := range roomHistory(t, admin, listRoom) {
		if e.Type.Type == "m.policy.rule.server" && e.StateKey != nil && *e.StateKey == "rule:"+server && res.RuleTS == 0 {
			res.RuleTS = e.Timestamp
		}
	}

	// Every room, once, two at a time: its current server ACL event.
	type found struct {
		room   id.RoomID
		admits bool
		ts     int64
		err    error
	}
	results := make(chan found, len(rooms))
	next := make(chan id.RoomID)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				f := found{room: r}
				var acl *event.Event
				state, err := reader.State(ctx, r)
				if err == nil {
					acl = state[event.StateServerACL][""]
				}
				switch {
				case err != nil:
					f.err = err
				case acl == nil:
					f.err = fmt.Errorf("no server ACL")
				default:
					var c struct {
						Allow []string `json:"allow"`
					}
					_ = json.Unmarshal(acl.Content.VeryRaw, &c)
					f.admits, f.ts = slices.Contains(c.Allow, server), acl.Timestamp
				}
				results <- f
			}
		}()
	}
	for _, r := range rooms {
		next <- r
	}
	close(next)
	wg.Wait()
	close(results)
	for f := range results {
		res.Checked++
		if f.err != nil || !f.admits {
			res.Missing = append(res.Missing, f.room)
			if f.err != nil {
				t.Logf("room %s: %v", f.room, f.err)
			}
			continue
		}
		res.Admitting++
		if res.FirstACL == 0 || f.ts < res.FirstACL {
			res.FirstACL = f.ts
		}
		res.LastACL = max(res.LastACL, f.ts)
	}
	if res.Admitting < res.Checked {
		t.Errorf("%d of %d clinical rooms do not admit %s", res.Checked-res.Admitting, res.Checked, server)
	}
	return res
}

// leaverFigures is one measure over the leaver samples.
type leaverFigures struct {
	N             int
	P50, P90, Max float64
}

func summarizeLeavers(samples []leaverSample, measure func(leaverSample) float64) leaverFigures {
	var v []float64
	for _, s := range samples {
		if s.RuleTS > 0 && s.RemovedTS > 0 {
			v = append(v, measure(s))
		}
	}
	return leaverFigures{N: len(v), P50: percentile(v, 50), P90: percentile(v, 90), Max: percentile(v, 100)}
}

func logFedResults(t *testing.T, res fedResults) {
	t.Helper()
	var b strings.Builder
	client := func(s leaverSample) float64 { return s.ClientMS }
	for _, set := range []struct {
		name    string
		samples []leaverSample
	}{{"leavers", res.Leavers}, {"leavers, trust A with its rooms", res.LeaversAfter}} {
		if len(set.samples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (trust A has %d clinical rooms)\n", set.name, set.samples[0].ClinicalRooms)
		fmt.Fprintf(&b, "%-40s %4s %8s %8s %8s\n", "measure", "n", "p50 ms", "p90 ms", "max ms")
		for _, m := range []struct {
			name string
			f    func(leaverSample) float64
		}{
			{"rule published → removed on A", leaverSample.ruleToRemoval},
			{"command sent → rule published", leaverSample.cmdToRule},
			{"command sent → removed on A", leaverSample.cmdToRemoval},
			{"client: sent → seen gone", client},
		} {
			s := summarizeLeavers(set.samples, m.f)
			fmt.Fprintf(&b, "%-40s %4d %8.0f %8.0f %8.0f\n", m.name, s.N, s.P50, s.P90, s.Max)
		}
	}
	a := res.ACL
	fmt.Fprintf(&b, "\nmember trust %s added; trust A has %d clinical rooms (%d created in %.0f s; its Dendrite settled %.0f s after)\n", a.Server, a.Checked, res.Rooms, res.RoomCreation, res.SettleSecs)
	at := func(ts int64) string {
		if ts == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f s", float64(ts-a.CommandTS)/1000)
	}
	fmt.Fprintf(&b, "from the command: rule on the list %s; first room's new ACL %s; last room's %s; Caldicott's log line %s (%d rooms)\n",
		at(a.RuleTS), at(a.FirstACL), at(a.LastACL), at(a.LogTS), a.LogRooms)
	fmt.Fprintf(&b, "checked at the end: %d rooms, %d admit %s; watched rooms first seen admitting it after %v ms\n", a.Checked, a.Admitting, a.Server, a.Sampled)
	for _, c := range res.CPU {
		fmt.Fprintf(&b, "CPU, %s: %.0f s wall; machine %.0f%% busy (%d cores); harness+both Caldicotts %.1f s, both Dendrites %.1f s (trust A's %.1f s); others %.0f%%\n",
			c.Phase, c.WallSecs, c.BusyPct, runtime.NumCPU(), c.SelfSecs, c.DendSecs, res.DendriteA[c.Phase], c.ForeignPct)
	}
	for name, problems := range map[string]map[string]int{"trust A": res.Problems, "trust B": res.ProblemsB} {
		writeProblems(&b, "Caldicott warnings and errors, "+name, problems)
	}
	t.Log(b.String())
}
