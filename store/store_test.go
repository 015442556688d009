package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/util/dbutil"

	"github.com/caldicott/caldicott/internal/testenv"
)

func TestMain(m *testing.M) {
	if engine := os.Getenv(envOpenerEngine); engine != "" {
		os.Exit(runOpener(engine, os.Getenv(envOpenerURI)))
	}
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

// withAllEngines runs one test body against SQLite and PostgreSQL, as
// Dendrite's test.WithAllDatabases does.
func withAllEngines(t *testing.T, body func(t *testing.T, s *Store)) {
	forEachEngine(t, func(t *testing.T, open func() *Store) { body(t, open()) })
}

// forEachEngine runs body against a fresh database on each engine; every
// open() is another Store on that same database, as a CLI command and the
// running service are.
func forEachEngine(t *testing.T, body func(t *testing.T, open func() *Store)) {
	withAllDatabases(t, func(t *testing.T, engine, uri string) {
		body(t, func() *Store {
			t.Helper()
			s, err := Open(context.Background(), engine, uri, 4)
			if err != nil {
				t.Fatalf("open %s: %v", engine, err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// withAllDatabases runs one test body against a fresh, empty database on
// each engine, for tests that set the database up themselves.
func withAllDatabases(t *testing.T, body func(t *testing.T, engine, uri string)) {
	t.Run("sqlite", func(t *testing.T) { body(t, SQLite, filepath.Join(t.TempDir(), "caldicott.db")) })
	t.Run("postgres", func(t *testing.T) { body(t, Postgres, testenv.Postgres(t)) })
}

func TestIngestDeduplicatesTransactionsAndEvents(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		evs := []InboxEvent{
			{EventID: "$a", RoomID: "!r:x", Type: "m.room.message", JSON: []byte(`{"a":1}`)},
			{EventID: "$b", RoomID: "!r:x", Type: "m.room.join_rules", JSON: []byte(`{"b":2}`)},
		}
		dup, err := s.IngestTransaction(ctx, "txn1", evs)
		if err != nil || dup {
			t.Fatalf("first ingest: dup=%v err=%v", dup, err)
		}
		dup, err = s.IngestTransaction(ctx, "txn1", evs)
		if err != nil || !dup {
			t.Fatalf("retry of txn1 must be a duplicate: dup=%v err=%v", dup, err)
		}
		// A new transaction repeating an event ID stores only the new event.
		dup, err = s.IngestTransaction(ctx, "txn2", []InboxEvent{evs[1], {EventID: "$c", RoomID: "!r:x", Type: "m.room.name", JSON: []byte(`{}`)}})
		if err != nil || dup {
			t.Fatalf("txn2: dup=%v err=%v", dup, err)
		}
		pending, err := s.PendingEvents(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(pending); got != "$a,$b,$c" {
			t.Fatalf("pending = %s, want $a,$b,$c", got)
		}
		if string(pending[0].JSON) != `{"a":1}` {
			t.Errorf("event JSON = %s", pending[0].JSON)
		}
		if err := s.RecordAttempt(ctx, pending[0].Seq); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkEventDone(ctx, pending[1].Seq); err != nil {
			t.Fatal(err)
		}
		pending, _ = s.PendingEvents(ctx, 10)
		if got := ids(pending); got != "$a,$c" || pending[0].Attempts != 1 {
			t.Fatalf("after done: pending = %s attempts=%d", got, pending[0].Attempts)
		}
		pending, _ = s.PendingEvents(ctx, 1)
		if len(pending) != 1 {
			t.Fatalf("limit not applied: %d", len(pending))
		}
		// Pruning removes handled events only.
		if _, err := s.PruneInbox(ctx, time.Now().Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		pending, _ = s.PendingEvents(ctx, 10)
		if got := ids(pending); got != "$a,$c" {
			t.Fatalf("prune removed pending events: %s", got)
		}
	})
}

func ids(evs []InboxEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.EventID)
	}
	return strings.Join(out, ",")
}

func TestRoomPolicies(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.RoomPolicy(ctx, "!none:x"); err != ErrNotFound {
			t.Fatalf("missing room: err = %v, want ErrNotFound", err)
		}
		p := RoomPolicy{RoomID: "!r:x", Class: "clinical", Compliant: false, Problems: []string{"no ACL"}, ClassifiedBy: "@a:x"}
		if err := s.SaveRoomPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Compliant, p.Problems = true, nil
		if err := s.SaveRoomPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.RoomPolicy(ctx, "!r:x")
		if err != nil || got.Class != "clinical" || !got.Compliant || len(got.Problems) != 0 || got.ClassifiedBy != "@a:x" {
			t.Fatalf("RoomPolicy = %+v, %v", got, err)
		}
		all, err := s.RoomPolicies(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("RoomPolicies = %+v, %v", all, err)
		}
		if err := s.SetKV(ctx, "k", "v1"); err != nil {
			t.Fatal(err)
		}
		_ = s.SetKV(ctx, "k", "v2")
		if v, ok, err := s.KV(ctx, "k"); v != "v2" || !ok || err != nil {
			t.Fatalf("KV = %q %v %v", v, ok, err)
		}
		if _, ok, _ := s.KV(ctx, "missing"); ok {
			t.Fatal("missing key reported present")
		}
	})
}

func appendN(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.AppendAudit(context.Background(), AuditEntry{Actor: "@a:x", RoomID: "!r:x", Action: "set_state", Reason: fmt.Sprintf("reason %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditChainIntact(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r, err := s.VerifyAudit(ctx)
		if err != nil || !r.OK() || r.Entries != 0 {
			t.Fatalf("empty log: %+v %v", r, err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); appendN(t, s, 5) }()
		}
		wg.Wait()
		r, err = s.VerifyAudit(ctx)
		if err != nil || !r.OK() || r.Entries != 20 || r.HeadSeq != 20 {
			t.Fatalf("after concurrent appends: %+v %v", r, err)
		}
		var got []AuditEntry
		if err := s.AuditSince(ctx, time.Now().Add(-time.Hour), func(e AuditEntry) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 20 || got[0].Seq != 1 || got[0].PrevHash != genesisHash || got[1].PrevHash != got[0].Hash {
			t.Fatalf("chain not linked: %+v", got[:2])
		}
		if err := s.AuditSince(ctx, time.Now().Add(time.Hour), func(AuditEntry) error { t.Fatal("entry from the future"); return nil }); err != nil {
			t.Fatal(err)
		}
		room, err := s.AuditForRoom(ctx, "!r:x", 3)
		if err != nil || len(room) != 3 || room[2].Seq != 20 {
			t.Fatalf("AuditForRoom = %+v %v", room, err)
		}
	})
}

func TestAuditRefusesEditsInTheDatabase(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		appendN(t, s, 2)
		ctx := context.Background()
		if _, err := s.db.Exec(ctx, `UPDATE audit_log SET reason = 'x' WHERE seq = 1`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update allowed: %v", err)
		}
		if _, err := s.db.Exec(ctx, `DELETE FROM audit_log WHERE seq = 1`); err == nil {
			t.Fatal("delete allowed")
		}
	})
}

// Verifying while the service appends must not report the entries
// written meanwhile as tampering (it did: "the log ends at entry 37 but
// entry 38 was written last", when an entry landed between the two reads).
func TestAuditVerifyWhileAppending(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		appendN(t, s, 3)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				if _, err := s.AppendAudit(ctx, AuditEntry{Actor: "@bot:trust", Action: "kick", Reason: "concurrent"}); err != nil && ctx.Err() == nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for range 50 {
			r, err := s.VerifyAudit(context.Background())
			if err != nil || !r.OK() {
				cancel()
				<-done
				t.Fatalf("verifying a log being written: %+v, %v", r, err)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenFailsClearlyWhenDatabaseUnreachable(t *testing.T) {
	port := testenv.FreePort(t, "127.0.0.1")
	_, err := Open(context.Background(), Postgres, fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", port), 1)
	if err == nil || !strings.Contains(err.Error(), "connect to postgres database") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Open(context.Background(), "mysql", "x", 1); err == nil {
		t.Fatal("unknown engine accepted")
	}
	if _, err := Open(context.Background(), SQLite, "/nonexistent-dir/x/caldicott.db", 1); err == nil {
		t.Fatal("unwritable sqlite path accepted")
	}
}

func TestIngestLargeTransactionInChunks(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		var evs []InboxEvent
		for i := 0; i < 2*insertChunk+17; i++ {
			evs = append(evs, InboxEvent{EventID: fmt.Sprintf("$e%d", i), RoomID: "!r:x", Type: "m.room.message", JSON: []byte(`{}`)})
		}
		evs = append(evs, evs[3]) // a repeated event within one transaction
		if _, err := s.IngestTransaction(context.Background(), "big", evs); err != nil {
			t.Fatal(err)
		}
		p, err := s.PendingEvents(context.Background(), 1000)
		if err != nil || len(p) != 2*insertChunk+17 {
			t.Fatalf("pending = %d, %v", len(p), err)
		}
		if p[0].EventID != "$e0" || p[len(p)-1].EventID != fmt.Sprintf("$e%d", 2*insertChunk+16) {
			t.Fatalf("order lost: first %s last %s", p[0].EventID, p[len(p)-1].EventID)
		}
	})
}

func TestStaffDirectory(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if counts, err := s.StaffCounts(ctx); err != nil || len(counts) != 0 {
			t.Fatalf("empty directory counts = %v %v", counts, err)
		}
		recs := []StaffRecord{
			{UserID: "@alice:a", Name: "Alice", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"},
			{UserID: "@bob:a", Name: "Bob", Role: "Staff Nurse", Status: "active", Source: "csv"},
		}
		if err := s.UpsertStaff(ctx, recs); err != nil {
			t.Fatal(err)
		}
		recs[1].Status = "left"
		if err := s.UpsertStaff(ctx, recs[1:]); err != nil {
			t.Fatal(err)
		}
		got, err := s.Staff(ctx, "@alice:a")
		if err != nil || got != recs[0] {
			t.Fatalf("Staff = %+v %v", got, err)
		}
		if _, err := s.Staff(ctx, "@nobody:a"); err != ErrNotFound {
			t.Fatalf("missing person: %v", err)
		}
		counts, _ := s.StaffCounts(ctx)
		if counts["active"] != 1 || counts["left"] != 1 {
			t.Fatalf("counts = %v", counts)
		}
		gone, _ := s.StaffWithStatus(ctx, "left", "suspended")
		if len(gone) != 1 || gone["@bob:a"] != "left" {
			t.Fatalf("StaffWithStatus = %v", gone)
		}
		if err := s.SetStaffStatus(ctx, "@alice:a", "suspended"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStaffStatus(ctx, "@nobody:a", "left"); err != ErrNotFound {
			t.Fatalf("SetStaffStatus of unknown: %v", err)
		}
	})
}

func TestStaffNamedFindsLookAlikes(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		recs := []StaffRecord{
			{UserID: "@alice:a", Name: "Alice Smith", Status: "active", Source: "csv"},
			{UserID: "@alice2:a", Name: "Dr. Alice Smith", Status: "active", Source: "csv"},
			{UserID: "@alicia:a", Name: "Alicia Smith", Status: "active", Source: "csv"},
			{UserID: "@bob:a", Name: "Bob Jones", Status: "left", Source: "csv"},
		}
		for i := range 12 {
			recs = append(recs, StaffRecord{UserID: fmt.Sprintf("@sam%02d:a", i), Name: "Sam Lee", Status: "active", Source: "csv"})
		}
		if err := s.UpsertStaff(ctx, recs); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			want map[string]string
		}{
			{"Alice Smith", map[string]string{"@alice:a": "Alice Smith", "@alice2:a": "Dr. Alice Smith"}},
			{"AIice  SM1TH", map[string]string{"@alice:a": "Alice Smith", "@alice2:a": "Dr. Alice Smith"}},
			{"Dr B\u043eb J\u043enes", map[string]string{"@bob:a": "Bob Jones"}},
			{"alice", map[string]string{}},
			{"Dr", nil},
			{"", nil},
		}
		for _, tt := range tests {
			got, err := s.StaffNamed(ctx, tt.name)
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("StaffNamed(%q) = %v %v, want %v", tt.name, got, err, tt.want)
			}
		}
		if many, err := s.StaffNamed(ctx, "Sam Lee"); err != nil || len(many) != 10 || many["@sam00:a"] == "" {
			t.Errorf("a common name: %d people (%v), want the first 10", len(many), err)
		}
		// A rename moves the person to their new name's key.
		recs[3].Name = "Robert Jones"
		if err := s.UpsertStaff(ctx, recs[3:4]); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.StaffNamed(ctx, "Bob Jones"); len(got) != 0 {
			t.Errorf("after rename, Bob Jones finds %v", got)
		}
		if got, _ := s.StaffNamed(ctx, "Robert Jones"); got["@bob:a"] != "Robert Jones" {
			t.Errorf("after rename, Robert Jones finds %v", got)
		}
	})
}

// A directory saved before name keys existed gets them when the schema is
// upgraded, so look-alikes are found without waiting for the next sync.
func TestUpgradeKeysExistingStaffNames(t *testing.T) {
	withAllDatabases(t, func(t *testing.T, engine, uri string) {
		ctx := context.Background()
		dsn := uri
		if engine == SQLite {
			dsn = sqliteDSN(uri)
		}
		old, err := dbutil.NewWithDialect(dsn, engine)
		if err != nil {
			t.Fatal(err)
		}
		old.UpgradeTable = upgradeTable[:8]
		old.VersionTable = "caldicott_version"
		if err := old.Upgrade(ctx); err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"Alice Smith", "Bob Jones"} {
			if _, err := old.Exec(ctx, `INSERT INTO staff (user_id, name, role, team, registration, status, source, external_id, updated_at)
				VALUES ($1, $2, '', '', '', 'active', 'csv', '', 0)`, fmt.Sprintf("@u%d:a", i), name); err != nil {
				t.Fatal(err)
			}
		}
		old.Close()
		s, err := Open(ctx, engine, uri, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, err := s.StaffNamed(ctx, "B0b J0nes"); err != nil || got["@u1:a"] != "Bob Jones" || len(got) != 1 {
			t.Errorf("StaffNamed after upgrade = %v %v", got, err)
		}
	})
}

func TestDowngradeRequests(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.DowngradeRequestOf(ctx, "!r:a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no request: %v", err)
		}
		for _, to := range []string{"social", "operational"} {
			if err := s.AddDowngradeRequest(ctx, DowngradeRequest{RoomID: "!r:a", ToClass: to, RequestedBy: "@u:a", Reason: "why"}); err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.DowngradeRequestOf(ctx, "!r:a")
		if err != nil || r.ToClass != "operational" || r.RequestedBy != "@u:a" || r.At.IsZero() {
			t.Fatalf("request = %+v %v", r, err)
		}
		if err := s.CloseDowngradeRequest(ctx, "!r:a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DowngradeRequestOf(ctx, "!r:a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("closed request still there: %v", err)
		}
	})
}

// journalSince reads the journal after seq as "user kind" pairs.
func journalSince(t *testing.T, s *Store, after int64) ([]DirectoryChange, string) {
	t.Helper()
	cs, err := s.DirectoryChangesSince(context.Background(), after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.UserID+" "+c.Kind)
	}
	return cs, strings.Join(parts, ", ")
}

func TestDirectoryChangeJournal(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		if latest, err := s.LatestDirectoryChange(ctx); err != nil || latest != 0 {
			t.Fatalf("empty journal: latest = %d %v", latest, err)
		}
		alice := StaffRecord{UserID: "@alice:a", Name: "Alice", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"}
		bob := StaffRecord{UserID: "@bob:a", Name: "Bob", Role: "Staff Nurse", Status: "active", Source: "csv"}
		if err := s.UpsertStaff(ctx, []StaffRecord{alice, bob}); err != nil {
			t.Fatal(err)
		}
		cs, got := journalSince(t, s, 0)
		if got != "@alice:a added, @bob:a added" || cs[0].Seq >= cs[1].Seq || !cs[0].Time.Equal(now) {
			t.Fatalf("after adding two: %s (%+v)", got, cs)
		}
		mark := cs[1].Seq

		// An unchanged upsert, or one changing only where a record came
		// from, changes nobody's directory record.
		bob.Source, bob.ExternalID = "ldap", "uid=bob"
		if err := s.UpsertStaff(ctx, []StaffRecord{alice, bob}); err != nil {
			t.Fatal(err)
		}
		if _, got := journalSince(t, s, mark); got != "" {
			t.Fatalf("unchanged upsert journalled %s", got)
		}
		alice.Role = "Clinical Director"
		bob.Team, bob.Status = "Ward 7", "left"
		if err := s.UpsertStaff(ctx, []StaffRecord{alice, bob}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStaffStatus(ctx, "@bob:a", "left"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStaffStatus(ctx, "@alice:a", "suspended"); err != nil {
			t.Fatal(err)
		}
		cs, got = journalSince(t, s, mark)
		if got != "@alice:a updated, @bob:a status, @alice:a status" {
			t.Fatalf("after changes: %s", got)
		}
		if latest, _ := s.LatestDirectoryChange(ctx); latest != cs[2].Seq {
			t.Fatalf("latest = %d, want %d", latest, cs[2].Seq)
		}
		if first, err := s.DirectoryChangesSince(ctx, 0, 2); err != nil || len(first) != 2 || first[1].Seq != mark {
			t.Fatalf("limit 2: %+v %v", first, err)
		}
	})
}

func TestSaveStaffAuditsWhoChanged(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		auditLen := func() int {
			r, err := s.VerifyAudit(ctx)
			if err != nil || !r.OK() {
				t.Fatalf("audit log: %+v %v", r, err)
			}
			return int(r.Entries)
		}
		by := DirectoryAuthor{Actor: "csv:staff.csv", Via: "caldicott directory import of staff.csv"}
		alice := StaffRecord{UserID: "@alice:a", Name: "Alice Smith", Role: "Consultant", Team: "Cardiology", Registration: "GMC 1234567", Status: "active", Source: "csv"}
		carol := StaffRecord{UserID: "@carol:a", Name: "Carol Ray", Role: "Registrar", Status: "active", Source: "csv"}
		if err := s.UpsertStaff(ctx, []StaffRecord{alice}); err != nil {
			t.Fatal(err)
		}
		appendN(t, s, 1) // something else audited first, so the chain is shared
		alice.Status = "left"
		changes, err := s.SaveStaff(ctx, []StaffRecord{carol, alice}, by)
		if err != nil {
			t.Fatal(err)
		}
		latest, _ := s.LatestDirectoryChange(ctx)
		if len(changes) != 2 || changes[0].UserID != "@carol:a" || changes[0].Kind != ChangeAdded || changes[1].Kind != ChangeStatus || changes[1].Seq != latest {
			t.Fatalf("changes = %+v (latest %d)", changes, latest)
		}
		if n := auditLen(); n != 2 {
			t.Fatalf("audit entries = %d, want 2", n)
		}
		var e AuditEntry
		_ = s.AuditSince(ctx, time.Time{}, func(a AuditEntry) error { e = a; return nil })
		if e.Actor != "csv:staff.csv" || e.Action != ActionDirectoryChange || e.RoomID != "" ||
			e.Detail != `{"changed":2,"user_ids":["@alice:a","@carol:a"]}` ||
			e.Reason != "caldicott directory import of staff.csv: directory records of 2 people changed: 1 added, 1 status changed, 0 other details changed" {
			t.Fatalf("audit entry = %+v", e)
		}
		for _, personal := range []string{"Carol", "Smith", "Consultant", "GMC", "left", "Cardiology"} {
			if strings.Contains(e.Detail+e.Reason, personal) {
				t.Errorf("audit entry carries %q: %+v", personal, e)
			}
		}

		// Nothing changed: nothing journalled, nothing audited.
		if changes, err := s.SaveStaff(ctx, []StaffRecord{carol, alice}, by); err != nil || len(changes) != 0 {
			t.Fatalf("unchanged save: %+v %v", changes, err)
		}
		if n := auditLen(); n != 2 {
			t.Fatalf("unchanged save audited: %d entries", n)
		}
		// No actor: refused before anything is written.
		carol.Role = "Consultant"
		if _, err := s.SaveStaff(ctx, []StaffRecord{carol}, DirectoryAuthor{}); err == nil {
			t.Fatal("save without an actor accepted")
		}
		if got, _ := s.Staff(ctx, "@carol:a"); got.Role != "Registrar" {
			t.Fatalf("refused save was written: %+v", got)
		}
		if after, _ := s.LatestDirectoryChange(ctx); after != latest {
			t.Fatalf("refused save journalled: %d → %d", latest, after)
		}
	})
}

// TestSaveStaffAlongsideOtherAuditEntries: directory writes and other audit
// entries from the same process share the chain without deadlock or gaps.
func TestSaveStaffAlongsideOtherAuditEntries(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(2)
			go func() { defer wg.Done(); appendN(t, s, 5) }()
			go func() {
				defer wg.Done()
				for j := 0; j < 5; j++ {
					rec := StaffRecord{UserID: fmt.Sprintf("@u%d:x", i), Name: fmt.Sprintf("Name %d", j), Status: "active", Source: "scim"}
					if _, err := s.SaveStaff(ctx, []StaffRecord{rec}, DirectoryAuthor{Actor: "scim"}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		r, err := s.VerifyAudit(ctx)
		if err != nil || !r.OK() || r.Entries != 30 {
			t.Fatalf("audit log: %+v %v", r, err)
		}
	})
}

func TestPruneDirectoryChanges(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
		now := t0
		s.SetClock(func() time.Time { return now })
		for i, id := range []string{"@a:x", "@b:x", "@c:x"} {
			now = t0.Add(time.Duration(i) * time.Hour)
			if err := s.UpsertStaff(ctx, []StaffRecord{{UserID: id, Name: id, Status: "active", Source: "csv"}}); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := journalSince(t, s, 0)
		if n, err := s.PruneDirectoryChanges(ctx, t0.Add(90*time.Minute)); err != nil || n != 2 {
			t.Fatalf("prune the two older rows: %d %v", n, err)
		}
		if _, err := s.DirectoryChangesSince(ctx, all[0].Seq, 10); !errors.Is(err, ErrDirectoryChangesPruned) {
			t.Fatalf("reading past pruned rows: err = %v", err)
		}
		if _, got := journalSince(t, s, all[1].Seq); got != "@c:x added" {
			t.Fatalf("after the pruned rows: %s", got)
		}
		// The newest row stays, however old, so the latest seq is still known.
		if n, err := s.PruneDirectoryChanges(ctx, t0.Add(48*time.Hour)); err != nil || n != 0 {
			t.Fatalf("prune the newest row: %d %v", n, err)
		}
		if latest, _ := s.LatestDirectoryChange(ctx); latest != all[2].Seq {
			t.Fatalf("latest = %d, want %d", latest, all[2].Seq)
		}
		// Numbering goes on from where it was.
		if err := s.SetStaffStatus(ctx, "@a:x", "left"); err != nil {
			t.Fatal(err)
		}
		if cs, _ := journalSince(t, s, all[2].Seq); len(cs) != 1 || cs[0].Seq <= all[2].Seq {
			t.Fatalf("after pruning: %+v", cs)
		}
	})
}

// TestDirectoryChangesAcrossStores: writers in other processes (a CLI import,
// SCIM) and a reader polling the way the running service does. The reader
// must see every change, in order, though writers commit concurrently.
func TestDirectoryChangesAcrossStores(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *Store) {
		ctx := context.Background()
		writerStores := []*Store{open(), open()}
		reader := open()
		const writers, writes = 4, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := writerStores[i%len(writerStores)]
				for j := 0; j < writes; j++ {
					rec := StaffRecord{UserID: fmt.Sprintf("@u%d:x", i), Name: fmt.Sprintf("Name %d", j), Status: "active", Source: "scim"}
					if err := w.UpsertStaff(ctx, []StaffRecord{rec}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		var cursor int64
		var seen []int64
		for {
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			latest, err := reader.LatestDirectoryChange(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if latest > cursor {
				cs, err := reader.DirectoryChangesSince(ctx, cursor, 5)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cs {
					seen = append(seen, c.Seq)
				}
				cursor = cs[len(cs)-1].Seq
				continue
			}
			if finished {
				break
			}
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		all, _ := journalSince(t, reader, 0)
		if len(all) != writers*writes || len(seen) != len(all) {
			t.Fatalf("the poller saw %d changes of %d (%d written)", len(seen), len(all), writers*writes)
		}
		for i, c := range all {
			if seen[i] != c.Seq {
				t.Fatalf("the poller saw seq %d where the journal has %d", seen[i], c.Seq)
			}
		}
	})
}

// BenchmarkStaffLookup: one indexed lookup in a 100,000-person directory,
// the I/O half of a join-gate decision.
func BenchmarkStaffLookup(b *testing.B) {
	s, err := Open(context.Background(), SQLite, filepath.Join(b.TempDir(), "c.db"), 4)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100_000
	recs := make([]StaffRecord, n)
	for i := range recs {
		recs[i] = StaffRecord{UserID: fmt.Sprintf("@user%d:trust-a", i), Name: fmt.Sprintf("Person %d", i), Role: "Staff Nurse", Team: "Ward 7", Status: "active", Source: "ldap"}
	}
	if err := s.UpsertStaff(context.Background(), recs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Staff(context.Background(), fmt.Sprintf("@user%d:trust-a", (i*7919)%n)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAccessRequests(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := AccessRequest{RoomID: "!r:a", UserID: "@u:a", RequestedBy: "@u:a", Reason: "covering nights", ReplyRoom: "!dm:a"}
		if err := s.AddRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := s.AddRequest(ctx, r); err != ErrDuplicate {
			t.Fatalf("second pending request: %v", err)
		}
		got, err := s.PendingRequest(ctx, "!r:a", "@u:a")
		if err != nil || got.Reason != "covering nights" || got.ReplyRoom != "!dm:a" || got.Status != RequestPending {
			t.Fatalf("PendingRequest = %+v %v", got, err)
		}
		if err := s.DecideRequest(ctx, got.ID, RequestDenied, "@admin:a", "not this ward"); err != nil {
			t.Fatal(err)
		}
		if err := s.DecideRequest(ctx, got.ID, RequestApproved, "@admin:a", ""); err != ErrNotFound {
			t.Fatalf("deciding twice: %v", err)
		}
		if _, err := s.PendingRequest(ctx, "!r:a", "@u:a"); err != ErrNotFound {
			t.Fatalf("decided request still pending: %v", err)
		}
		// After a decision the person may ask again.
		if err := s.AddRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHolds(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.HoldOf(ctx, "@u:a"); err != ErrNotFound {
			t.Fatalf("no hold: %v", err)
		}
		if err := s.AddHold(ctx, Hold{UserID: "@u:a", Reason: "lost device", HeldBy: "@ig:a"}); err != nil {
			t.Fatal(err)
		}
		h, err := s.HoldOf(ctx, "@u:a")
		if err != nil || h.Reason != "lost device" || h.HeldBy != "@ig:a" {
			t.Fatalf("HoldOf = %+v %v", h, err)
		}
		if all, _ := s.Holds(ctx); len(all) != 1 {
			t.Fatalf("Holds = %v", all)
		}
		if err := s.ReleaseHold(ctx, "@u:a"); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseHold(ctx, "@u:a"); err != ErrNotFound {
			t.Fatalf("second release: %v", err)
		}
	})
}

func TestReviews(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		if err := s.EnsureReview(ctx, "!r:a", 90*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureReview(ctx, "!r:a", time.Hour); err != nil {
			t.Fatal(err)
		}
		r, err := s.ReviewOf(ctx, "!r:a")
		if err != nil || r.Interval != 90*24*time.Hour || !r.Started.IsZero() || r.NextDue.Before(now.Add(89*24*time.Hour)) {
			t.Fatalf("review = %+v %v", r, err)
		}
		if due, _ := s.ActiveReviews(ctx, now); len(due) != 0 {
			t.Fatalf("not-yet-due review listed: %v", due)
		}
		r.NextDue = now.Add(-time.Minute)
		if err := s.SaveReview(ctx, r); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.ActiveReviews(ctx, now); len(due) != 1 {
			t.Fatalf("due review not listed: %v", due)
		}
		r.NextDue, r.Started, r.Escalated = now.Add(time.Hour), now, true
		_ = s.SaveReview(ctx, r)
		if due, _ := s.ActiveReviews(ctx, now); len(due) != 1 || !due[0].Escalated {
			t.Fatalf("open review not listed: %v", due)
		}
		if _, err := s.ReviewOf(ctx, "!none:a"); err != ErrNotFound {
			t.Fatalf("missing review: %v", err)
		}
		_ = s.TouchActivity(ctx, "!r:a", "@u:a", now)
		_ = s.TouchActivity(ctx, "!r:a", "@u:a", now.Add(-time.Hour)) // older: ignored
		act, err := s.Activity(ctx, "!r:a")
		if err != nil || act["@u:a"].UnixMilli() != now.UnixMilli() {
			t.Fatalf("activity = %v %v", act, err)
		}
	})
}

// BenchmarkActiveReviews10kRooms: the schedule's query over 10,000 clinical
// rooms, of which 100 are due: what each review tick reads.
func BenchmarkActiveReviews10kRooms(b *testing.B) {
	s, err := Open(context.Background(), SQLite, filepath.Join(b.TempDir(), "c.db"), 4)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	for i := 0; i < 10_000; i++ {
		due := now.Add(time.Duration(i+1) * time.Hour)
		if i < 100 {
			due = now.Add(-time.Minute)
		}
		if err := s.SaveReview(ctx, Review{RoomID: fmt.Sprintf("!room%d:a", i), Interval: 90 * 24 * time.Hour, NextDue: due}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		due, err := s.ActiveReviews(ctx, now)
		if err != nil || len(due) != 100 {
			b.Fatalf("due = %d, %v", len(due), err)
		}
	}
}

func TestAttestations(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.AttestationOf(ctx, "@u:a"); err != ErrNotFound {
			t.Fatalf("none: %v", err)
		}
		a := Attestation{UserID: "@u:a", MasterKey: "K1", Method: "in person", AttestedBy: "@ig:a", Note: "badge checked"}
		if err := s.SaveAttestation(ctx, a); err != nil {
			t.Fatal(err)
		}
		a.MasterKey = "K2"
		_ = s.SaveAttestation(ctx, a)
		got, err := s.AttestationOf(ctx, "@u:a")
		if err != nil || got.MasterKey != "K2" || got.Note != "badge checked" || got.At.IsZero() {
			t.Fatalf("AttestationOf = %+v %v", got, err)
		}
		_ = s.SaveAttestation(ctx, Attestation{UserID: "@a:b", MasterKey: "K3", Method: "emoji verification", AttestedBy: "@bot:b"})
		all, err := s.Attestations(ctx)
		if err != nil || len(all) != 2 || all[0].UserID != "@a:b" || all[1].MasterKey != "K2" {
			t.Fatalf("Attestations = %+v %v", all, err)
		}
		if err := s.DeleteAttestation(ctx, "@u:a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AttestationOf(ctx, "@u:a"); err != ErrNotFound {
			t.Fatalf("after delete: %v", err)
		}
		if err := s.DeleteAttestation(ctx, "@nobody:a"); err != nil {
			t.Fatalf("deleting none: %v", err)
		}
	})
}

func TestVerificationEnforcementState(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		st, err := s.VerificationStateOf(ctx, "@u:a")
		if err != nil || !st.ShortSince.IsZero() || st.Suspended {
			t.Fatalf("empty state = %+v %v", st, err)
		}
		st.Status, st.ShortSince = "no_cross_signing", time.Now()
		if err := s.SaveVerificationState(ctx, st); err != nil {
			t.Fatal(err)
		}
		st.Suspended = true
		_ = s.SaveVerificationState(ctx, st)
		if users, _ := s.SuspendedUsers(ctx); len(users) != 1 || users[0] != "@u:a" {
			t.Fatalf("suspended = %v", users)
		}
		_ = s.AddSuspension(ctx, "@u:a", "!r1:a")
		_ = s.AddMute(ctx, "@u:a", "!r2:a", 50)
		_ = s.AddSuspension(ctx, "@u:a", "!r1:a")
		if from, err := s.Suspensions(ctx, "@u:a"); err != nil || len(from) != 2 || from[0].RoomID != "!r1:a" || from[0].MutedFrom != nil || from[1].MutedFrom == nil {
			t.Fatalf("suspensions = %+v %v", from, err)
		}
		rooms, err := s.TakeSuspensions(ctx, "@u:a")
		if err != nil || len(rooms) != 2 || rooms[0].RoomID != "!r1:a" || rooms[0].MutedFrom != nil || rooms[1].MutedFrom == nil || *rooms[1].MutedFrom != 50 {
			t.Fatalf("suspensions = %+v %v", rooms, err)
		}
		if rooms, _ := s.TakeSuspensions(ctx, "@u:a"); len(rooms) != 0 {
			t.Fatalf("taken twice: %v", rooms)
		}
		if err := s.SaveVerificationState(ctx, VerificationState{UserID: "@u:a"}); err != nil {
			t.Fatal(err)
		}
		if users, _ := s.SuspendedUsers(ctx); len(users) != 0 {
			t.Fatalf("cleared state still suspended: %v", users)
		}
	})
}
