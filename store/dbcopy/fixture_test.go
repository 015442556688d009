package dbcopy

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/store"
)

// trialDatabase is a SQLite database as a trust's trial leaves it: the
// store and the encryption device's schemas at the current version, rooms
// with their policies, sweep state, legal holds and records waiting, staff
// held out, attestations, the inbox (an AUTOINCREMENT key) and an audit
// chain of auditEntries entries. It is closed when returned.
func trialDatabase(t testing.TB, rooms, auditEntries int) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "caldicott.db")
	st, err := store.Open(ctx, store.SQLite, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The crypto helper makes these on the bot's first start with encryption.
	for _, sc := range schemas()[1:] {
		if err := st.DB().Child(sc.versionTable, sc.upgrades, nil).Upgrade(ctx); err != nil {
			t.Fatal(err)
		}
	}
	err = st.DB().DoTxn(ctx, nil, func(ctx context.Context) error {
		for i := range rooms {
			if err := fillRoom(ctx, st, i); err != nil {
				return err
			}
		}
		for i := range auditEntries {
			room := fmt.Sprintf("!room%d:a.test", i%max(rooms, 1))
			if _, err := st.AppendAudit(ctx, store.AuditEntry{Actor: "@caldicott:a.test", RoomID: room, Action: "kick", Reason: "not in the directory", Detail: fmt.Sprintf(`{"n":%d}`, i)}); err != nil {
				return err
			}
		}
		return fillPeople(ctx, st)
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func fillRoom(ctx context.Context, st *store.Store, i int) error {
	room := fmt.Sprintf("!room%d:a.test", i)
	if err := st.SaveRoomPolicy(ctx, store.RoomPolicy{RoomID: room, Class: "clinical", Compliant: i%3 != 0, Problems: []string{"not encrypted"}, ClassifiedBy: "@ig:a.test"}); err != nil {
		return err
	}
	if err := st.SaveSweepState(ctx, store.SweepState{RoomID: room, Cursor: fmt.Sprintf("t%d", i), Backlog: int64(i), Redacted: int64(2 * i)}); err != nil {
		return err
	}
	if i%10 == 0 {
		if err := st.AddLegalHold(ctx, store.LegalHold{RoomID: room, Reason: "inquest", HeldBy: "@ig:a.test"}); err != nil {
			return err
		}
		if _, err := st.AddRecord(ctx, store.PatientRecord{RoomID: room, EventID: fmt.Sprintf("$ev%d", i), CommandID: fmt.Sprintf("$cmd%d", i), RecordedBy: "@dr:a.test", State: "pending", Payload: "{}"}); err != nil {
			return err
		}
	}
	return nil
}

func fillPeople(ctx context.Context, st *store.Store) error {
	if err := st.AddHold(ctx, store.Hold{UserID: "@leaver:a.test", Reason: "left the trust", HeldBy: "@ig:a.test"}); err != nil {
		return err
	}
	if err := st.SaveAttestation(ctx, store.Attestation{UserID: "@dr:a.test", MasterKey: "mk", Method: "sas", AttestedBy: "@caldicott:a.test"}); err != nil {
		return err
	}
	if err := st.SetKV(ctx, "bot_cross_signing_seeds", "sealed"); err != nil {
		return err
	}
	var evs []store.InboxEvent
	for i := range 5 {
		evs = append(evs, store.InboxEvent{EventID: fmt.Sprintf("$in%d", i), RoomID: "!room0:a.test", Type: "m.room.message", JSON: []byte(`{}`)})
	}
	_, err := st.IngestTransaction(ctx, "txn1", evs)
	return err
}

// fillEmptyTables puts a row into every table still empty, from the
// columns' declared types, so a comparison of the whole database covers
// every table; it returns the tables it could not fill (a CHECK its
// values do not meet), which the caller names.
func fillEmptyTables(t testing.TB, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := sqliteTables(t, db)
	var unfilled []string
	for _, table := range tables {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + quote(table)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 || isVersionTable(table) {
			continue
		}
		rows, err := db.Query(`SELECT name, type FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var cols, marks []string
		var vals []any
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			cols, marks, vals = append(cols, quote(name)), append(marks, "?"), append(vals, sampleValue(name, typ))
		}
		rows.Close()
		q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", quote(table), strings.Join(cols, ", "), strings.Join(marks, ", "))
		if _, err := db.Exec(q, vals...); err != nil {
			unfilled = append(unfilled, fmt.Sprintf("%s (%v)", table, err))
		}
	}
	return unfilled
}

// sampleValue is a value of a column's declared type that PostgreSQL's
// version of the column also takes.
func sampleValue(name, typ string) any {
	typ = strings.ToUpper(typ)
	switch {
	case name == "membership":
		return "join" // an enum on PostgreSQL
	case name == "id":
		return 1 // single-row tables CHECK (id = 1)
	case strings.Contains(typ, "INT"):
		return 7
	case strings.Contains(typ, "BOOL"):
		return 1
	case strings.Contains(typ, "BYTEA"), strings.Contains(typ, "BLOB"):
		return []byte{0, 1, 2, 0xff}
	case strings.Contains(typ, "TIMESTAMP"):
		return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	case strings.Contains(typ, "JSON"):
		return `{"k": 1}` // as jsonb prints it
	default:
		return "sample " + name
	}
}

// sqliteTables are the tables of a SQLite database, SQLite's own aside:
// the schema as the migrations made it.
func sqliteTables(t testing.TB, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
}
