package gatekeeper

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/caldicott/caldicott/store"
)

// clock is the store's clock, pinned and moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// safeBuffer collects the gatekeeper's log across its request goroutines.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// viewRig is a gatekeeper with the store as the appservice shares it: a
// real SQLite database whose clock the test moves, a policy list
// configured, the federation view read from the store.
type viewRig struct {
	*rig
	st    *store.Store
	clock *clock
	log   *safeBuffer
}

const (
	// runtimeTrust joined the federation with `!policy trust add`: it is
	// in the view, not in federation.servers.
	runtimeTrust = "trust-c.nhs.uk"
	leaver       = "@leaver:trust-b.nhs.uk"
)

func newViewRig(t *testing.T) *viewRig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.SQLite, filepath.Join(t.TempDir(), "caldicott.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	st.SetClock(c.Now)
	if err := st.UpsertStaff(ctx, []store.StaffRecord{{UserID: "@bob:trust-a.nhs.uk", Name: "Bob", Status: "active", Source: "csv"}}); err != nil {
		t.Fatal(err)
	}
	up := &upstream{rooms: rooms}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	base, _ := url.Parse(upSrv.URL)
	log := &safeBuffer{}
	m := NewMetrics(prometheus.NewRegistry())
	gk := New(Settings{
		Upstream: base, Rules: testRules, ASToken: asToken, MaxJudgedBody: 64 << 10,
		RoomStateTTL: time.Minute, RoomStateTimeout: 2 * time.Second,
		Directory: st, Records: st, ListConfigured: true, MaxListAge: 72 * time.Hour,
	}, m, zerolog.New(log))
	srv := httptest.NewServer(gk.Handler())
	t.Cleanup(srv.Close)
	return &viewRig{rig: &rig{up: up, url: srv.URL, metrics: m}, st: st, clock: c, log: log}
}

// publish writes the view as the appservice does after reading the list.
func (v *viewRig) publish(t *testing.T) {
	t.Helper()
	err := v.st.SetFederationView(context.Background(), store.FederationView{
		Servers: []string{"127.0.0.12:8448", runtimeTrust, "trust-b.nhs.uk"},
		Banned: []store.ListBan{
			{Entity: leaver, Reason: "left Trust B on 30 November"},
			{Entity: "@locum.*:trust-b.nhs.uk", Reason: "agency contract ended"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// invite asks, as a client, to invite user into room.
func (v *viewRig) invite(t *testing.T, room, user, tag string, status int, want string) {
	t.Helper()
	path := "/_matrix/client/v3/rooms/" + room + "/invite"
	body := []byte(fmt.Sprintf(`{"user_id":%q,"reason":%q}`, user, tag))
	v.expect(t, http.MethodPost, path, body, v.do(t, http.MethodPost, path, body), status, want)
}

// fedInvite is another server's invitation into one of our rooms.
func (v *viewRig) fedInvite(t *testing.T, origin, tag string, status int, want string) {
	t.Helper()
	path := "/_matrix/federation/v2/invite/%21ward7%3Atrust-a.nhs.uk/$" + tag
	body := []byte(fmt.Sprintf(`{"test":%q}`, tag))
	v.expect(t, http.MethodPut, path, body, v.doFederation(t, http.MethodPut, path, body, "Authorization", xMatrix(origin)), status, want)
}

// createClinical asks for a clinical room inviting invitee.
func (v *viewRig) createClinical(t *testing.T, invitee, tag string, status int, want string) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"name":%q,"invite":[%q],"initial_state":[{"type":"org.caldicott.policy","content":{"class":"clinical"}},{"type":"m.room.encryption","content":{"algorithm":"m.megolm.v1.aes-sha2"}}]}`, tag, invitee))
	path := "/_matrix/client/v3/createRoom"
	v.expect(t, http.MethodPost, path, body, v.do(t, http.MethodPost, path, body), status, want)
}

func (v *viewRig) state(name string) float64 {
	return testutil.ToFloat64(v.metrics.FailState.WithLabelValues(name))
}

// TestFederationViewDecides: the trusts added at run time and the leavers
// other trusts published, as the appservice wrote them, decide federation
// requests and invitations, as federation.servers alone did before.
func TestFederationViewDecides(t *testing.T) {
	v := newViewRig(t)
	v.publish(t)
	v.fedInvite(t, runtimeTrust, "runtime-trust", 200, "")
	v.fedInvite(t, "trust-d.nhs.uk", "outsider", 403, "trust-d.nhs.uk is not a member of this federation")
	v.fedInvite(t, "trust-b.nhs.uk", "configured", 200, "")
	v.invite(t, clinicalRoom, "@carol:"+runtimeTrust, "runtime-trust", 200, "")
	v.invite(t, clinicalRoom, leaver, "leaver", 403, "their own trust has told the federation that they may no longer be in clinical rooms (left Trust B on 30 November)")
	v.invite(t, clinicalRoom, "@locum.smith:trust-b.nhs.uk", "locum", 403, "(agency contract ended)")
	v.invite(t, clinicalRoom, "@locum:trust-b.nhs.uk", "not-the-glob", 200, "")
	v.invite(t, socialRoom, leaver, "leaver-social", 200, "")
	v.createClinical(t, leaver, "leaver", 403, "their own trust has told the federation")
	v.createClinical(t, "@carol:"+runtimeTrust, "runtime-trust", 200, "")
	if n := v.refusals(EndpointClientInvite, "federation_list"); n != 2 {
		t.Errorf("federation_list refusals counted %v, want 2", n)
	}
	if v.state(StateOK) != 1 {
		t.Errorf("fail state ok = %v, want 1", v.state(StateOK))
	}
}

// TestFederationViewMaxAge: the view serves until gatekeeper.max_list_age;
// past it, federation requests from trusts that are members only by the
// view are refused (and they cannot be invited), while federation.servers
// and local traffic go on. Said once in the log, in the metrics and in
// the store for the appservice; and undone when the view is fresh again.
func TestFederationViewMaxAge(t *testing.T) {
	v := newViewRig(t)
	v.publish(t)
	v.clock.add(71 * time.Hour)
	v.fedInvite(t, runtimeTrust, "at-71h", 200, "")

	v.clock.add(2 * time.Hour) // 73 h
	for i := range 3 {
		v.fedInvite(t, runtimeTrust, fmt.Sprintf("at-73h-%d", i), 403, "has not been able to check the federation's list of member trusts for more than 72h0m0s")
	}
	v.fedInvite(t, "trust-b.nhs.uk", "configured-at-73h", 200, "")
	v.invite(t, clinicalRoom, "@carol:"+runtimeTrust, "stale", 403, "trust-c.nhs.uk is a member only by that list")
	v.invite(t, clinicalRoom, leaver, "stale-leaver", 403, "left Trust B") // a ban stands
	v.invite(t, clinicalRoom, "@bob:trust-a.nhs.uk", "colleague", 200, "")
	v.invite(t, socialRoom, "@carol:"+runtimeTrust, "stale-social", 200, "")
	path := "/_matrix/client/v3/sync?timeout=0"
	v.expect(t, http.MethodGet, path, nil, v.do(t, http.MethodGet, path, nil), 200, "")

	if n := v.refusals(EndpointFederationInvite, ReasonListStale); n != 3 {
		t.Errorf("federation_list_stale refusals counted %v, want 3", n)
	}
	if v.state(StateListStale) != 1 || v.state(StateOK) != 0 {
		t.Errorf("fail state: stale %v, ok %v", v.state(StateListStale), v.state(StateOK))
	}
	if age := testutil.ToFloat64(v.metrics.ViewAge); age != (73 * time.Hour).Seconds() {
		t.Errorf("view age %v s, want %v", age, (73 * time.Hour).Seconds())
	}
	if n := strings.Count(v.log.String(), "older than max_list_age"); n != 1 {
		t.Errorf("the stale view was logged %d times, want once:\n%s", n, v.log.String())
	}
	rec, err := v.st.GatekeeperState(context.Background())
	if err != nil || rec.State != StateListStale || rec.MaxListAge != 72*time.Hour || !rec.Since.Equal(v.clock.Now()) {
		t.Fatalf("recorded state %+v, %v", rec, err)
	}

	// The appservice reads the list again: the view is fresh within a refresh.
	v.publish(t)
	v.clock.add(viewRefresh)
	v.fedInvite(t, runtimeTrust, "fresh-again", 200, "")
	if rec, _ := v.st.GatekeeperState(context.Background()); rec.State != StateOK || v.state(StateOK) != 1 {
		t.Fatalf("after a new view: recorded %+v, ok gauge %v", rec, v.state(StateOK))
	}
}

// TestStoreDownFailsClosedForClinicalRooms: with the store unreadable, the
// last good view serves; what needs the store for a clinical room (this
// trust's directory) is refused, the rest flows. A gatekeeper that never
// read a view cannot know the leavers, so invitations of other trusts'
// staff into clinical rooms are refused too; the configured trusts' own
// federation requests still pass.
func TestStoreDownFailsClosedForClinicalRooms(t *testing.T) {
	t.Run("after a good view", func(t *testing.T) {
		v := newViewRig(t)
		v.publish(t)
		v.fedInvite(t, runtimeTrust, "before", 200, "")
		v.st.Close()
		v.clock.add(time.Hour)
		v.fedInvite(t, runtimeTrust, "store-down", 200, "")
		v.invite(t, clinicalRoom, "@carol:"+runtimeTrust, "store-down", 200, "")
		v.invite(t, clinicalRoom, leaver, "store-down-leaver", 403, "left Trust B")
		v.invite(t, clinicalRoom, "@bob:trust-a.nhs.uk", "store-down-colleague", 403, "could not check the staff directory")
		v.invite(t, socialRoom, "@bob:trust-a.nhs.uk", "store-down-social", 200, "")
		if v.state(StateStoreUnavailable) != 1 {
			t.Errorf("fail state store_unavailable = %v", v.state(StateStoreUnavailable))
		}
		if n := strings.Count(v.log.String(), "The store cannot be read"); n != 1 {
			t.Errorf("the store's failure was logged %d times, want once", n)
		}
		v.clock.add(72 * time.Hour) // the last good view too old now
		v.fedInvite(t, runtimeTrust, "store-down-stale", 403, "member only by that list")
	})
	t.Run("no view ever read", func(t *testing.T) {
		v := newViewRig(t)
		v.publish(t)
		v.st.Close()
		v.invite(t, clinicalRoom, "@carol:trust-b.nhs.uk", "unknown-bans", 403, "could not check the federation's list of staff who have left other trusts")
		v.invite(t, socialRoom, "@carol:trust-b.nhs.uk", "unknown-bans-social", 200, "")
		v.createClinical(t, "@carol:trust-b.nhs.uk", "unknown-bans", 403, "this clinical room was not created with its invitations")
		v.fedInvite(t, "trust-b.nhs.uk", "configured", 200, "")
		v.fedInvite(t, runtimeTrust, "runtime", 403, "not a member of this federation")
		if n := v.refusals(EndpointClientInvite, ReasonListUnknown); n != 1 {
			t.Errorf("federation_list_unavailable refusals counted %v, want 1", n)
		}
	})
	t.Run("no view written yet", func(t *testing.T) {
		v := newViewRig(t)
		v.invite(t, clinicalRoom, "@carol:trust-b.nhs.uk", "no-view", 200, "") // no leavers known: as the appservice
		v.fedInvite(t, runtimeTrust, "no-view", 403, "not a member of this federation")
		if v.state(StateListMissing) != 1 {
			t.Errorf("fail state list_missing = %v", v.state(StateListMissing))
		}
		if rec, err := v.st.GatekeeperState(context.Background()); err != nil || rec.State != StateListMissing {
			t.Fatalf("recorded %+v, %v", rec, err)
		}
	})
}

// TestRefusalsAudited: each refusal is in the audit log — who asked, the
// room, the endpoint and the rule — and nothing of the request's content;
// the chain verifies. Requests no one could be held to (a token Dendrite
// refuses, a federation request naming no origin) are not recorded.
func TestRefusalsAudited(t *testing.T) {
	v := newViewRig(t)
	v.publish(t)
	ctx := context.Background()
	v.invite(t, clinicalRoom, "@alice:matrix.org", "outsider", 403, "personal accounts")
	v.fedInvite(t, "trust-d.nhs.uk", "outsider", 403, "not a member")
	const nhsNumber = "943 476 5919"
	body := []byte(`{"name":"Bed 4 ` + nhsNumber + `"}`)
	v.expect(t, http.MethodPost, "/_matrix/client/v3/createRoom", body, v.do(t, http.MethodPost, "/_matrix/client/v3/createRoom", body), 403, "NHS number")
	// Not recorded: an unknown token, and no origin at all.
	path := "/_matrix/client/v3/rooms/" + clinicalRoom + "/invite"
	v.do(t, http.MethodPost, path, []byte(`{`), "Authorization", "Bearer stolen")
	v.doFederation(t, http.MethodPut, "/_matrix/federation/v2/invite/%21ward7%3Atrust-a.nhs.uk/$x", []byte(`{}`))

	var got []store.AuditEntry
	if err := v.st.AuditSince(ctx, time.Time{}, func(e store.AuditEntry) error {
		if e.Action == ActionRefused {
			got = append(got, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []struct{ actor, room, reason, endpoint string }{
		{"@alice:trust-a.nhs.uk", clinicalRoom, "outside_server", EndpointClientInvite},
		{"trust-d.nhs.uk", "!ward7:trust-a.nhs.uk", ReasonOutsideOrigin, EndpointFederationInvite},
		{"@alice:trust-a.nhs.uk", "", ReasonPatientID, EndpointClientCreateRoom},
	}
	if len(got) != len(want) {
		t.Fatalf("audited %d refusals, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Actor != w.actor || e.RoomID != w.room || e.Reason != w.reason || !strings.Contains(e.Detail, `"endpoint":"`+w.endpoint+`"`) {
			t.Errorf("entry %d = %+v; want %+v", i, e, w)
		}
		if strings.Contains(e.Detail+e.Reason, "943") || strings.Contains(e.Detail, "matrix.org") || !e.Time.Equal(v.clock.Now()) {
			t.Errorf("entry %d holds content or another clock: %+v", i, e)
		}
	}
	if r, err := v.st.VerifyAudit(ctx); err != nil || !r.OK() {
		t.Fatalf("audit chain: %+v, %v", r, err)
	}

	// The store gone: the refusal stands, counted as not recorded.
	v.st.Close()
	v.invite(t, clinicalRoom, "@alice:matrix.org", "outsider-store-down", 403, "personal accounts")
	if n := testutil.ToFloat64(v.metrics.AuditFailures); n != 1 {
		t.Errorf("audit failures counted %v, want 1", n)
	}
}
