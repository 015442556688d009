package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

const good = `user_id,name,role,team,registration,status
@alice:trust-a.nhs.uk,Alice Smith,Consultant,Cardiology,GMC 1234567,active
@bob:trust-a.nhs.uk,Bob Jones,Staff Nurse,Ward 7,NMC 12A3456B,active
"@carol:trust-a.nhs.uk","Carol, the Porter",Porter,,,left
`

func TestParseCSV(t *testing.T) {
	entries, err := ParseCSV(strings.NewReader(good), "trust-a.nhs.uk")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[2].Name != "Carol, the Porter" || entries[2].Status != policy.StatusLeft || entries[1].Registration != "NMC 12A3456B" {
		t.Fatalf("entries = %+v", entries)
	}
	// Columns in any order, optional ones absent, a BOM from Excel.
	entries, err = ParseCSV(strings.NewReader("\ufeffstatus,user_id,name\nactive,@d:trust-a.nhs.uk,D\n"), "trust-a.nhs.uk")
	if err != nil || len(entries) != 1 || entries[0].UserID != "@d:trust-a.nhs.uk" {
		t.Fatalf("reordered columns: %+v %v", entries, err)
	}
}

func TestParseCSVReportsEveryBadRowByLine(t *testing.T) {
	file := `user_id,name,role,team,registration,status
@alice:trust-a.nhs.uk,Alice Smith,Consultant,Cardiology,GMC 1234567,active
alice,No Server,,,,active
@eve:matrix.org,Eve,,,,active
@frank:trust-a.nhs.uk,,,,,active
@gina:trust-a.nhs.uk,Gina,,,,retired
@hal:trust-a.nhs.uk,Hal,,,GMC 12,active
@alice:trust-a.nhs.uk,Alice Again,,,,active
@ian:trust-a.nhs.uk,Ian,too,many,fields,here,active
@jo:trust-a.nhs.uk,Jo,,,,active
`
	_, err := ParseCSV(strings.NewReader(file), "trust-a.nhs.uk")
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *ImportError", err)
	}
	want := []string{
		`line 3: user_id "alice" is not a Matrix user ID`,
		"line 4: user_id @eve:matrix.org is not on this trust's server trust-a.nhs.uk",
		"line 5: name is empty",
		`line 6: status "retired" is not active, suspended or left`,
		`line 7: registration "GMC 12" is not`,
		"line 8: @alice:trust-a.nhs.uk already appears on line 2",
		"line 9: has 7 fields, the header has 6",
	}
	if len(ie.Rows) != len(want) {
		t.Fatalf("got %d row errors:\n%v", len(ie.Rows), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(ie.Rows[i].Error(), w) {
			t.Errorf("row error %d = %q, want prefix %q", i, ie.Rows[i].Error(), w)
		}
	}
}

// Found by FuzzParseCSV's seeds: a quote left open on the last line made
// the reader panic asking where the row began.
func TestParseCSVUnterminatedQuote(t *testing.T) {
	_, err := ParseCSV(strings.NewReader("user_id,name,status\n@a:trust-a.nhs.uk,A,active\n\"@b:trust-a.nhs.uk,B"), "trust-a.nhs.uk")
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 1 || !strings.HasPrefix(ie.Rows[0].Error(), "line 3: ") {
		t.Fatalf("err = %v, want line 3 named", err)
	}
}

func TestParseCSVHeaderProblems(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "the file is empty",
		"user_id,name\n":              `missing column "status"`,
		"user_id,name,status,grade\n": `unknown column "grade"`,
		"user_id,name,status,name\n":  `column "name" appears twice`,
	} {
		if _, err := ParseCSV(strings.NewReader(in), "a"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.SQLite, filepath.Join(t.TempDir(), "c.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var csvImport = Origin{Source: "csv", By: store.DirectoryAuthor{Actor: "csv:staff.csv", Via: "caldicott directory import of staff.csv"}}

// directoryAudit returns the audit entries of directory writes, oldest
// first, each as "actor; reason; user IDs".
func directoryAudit(t testing.TB, st *store.Store) []string {
	t.Helper()
	var out []string
	err := st.AuditSince(context.Background(), time.Time{}, func(e store.AuditEntry) error {
		if e.Action != store.ActionDirectoryChange {
			return nil
		}
		var detail struct {
			Changed int      `json:"changed"`
			UserIDs []string `json:"user_ids"`
		}
		if err := json.Unmarshal([]byte(e.Detail), &detail); err != nil || detail.Changed != len(detail.UserIDs) {
			t.Fatalf("audit detail %s: %v", e.Detail, err)
		}
		out = append(out, e.Actor+"; "+e.Reason+"; "+strings.Join(detail.UserIDs, " "))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// journal returns the directory change journal as "user kind" pairs.
func journal(t testing.TB, st *store.Store) []string {
	t.Helper()
	cs, err := st.DirectoryChangesSince(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.UserID+" "+c.Kind)
	}
	return out
}

// statusChanges is who the directory's change journal says changed
// standing (active, suspended, left), in order: the service reads the
// journal every second and judges each of them in their rooms.
func statusChanges(t testing.TB, st *store.Store) []string {
	t.Helper()
	cs, err := st.DirectoryChangesSince(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		if c.Kind == store.ChangeStatus {
			out = append(out, c.UserID)
		}
	}
	return out
}

func TestApplyHoldsMassRemoval(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	var staff []policy.StaffEntry
	for i := 0; i < 20; i++ {
		staff = append(staff, policy.StaffEntry{UserID: fmt.Sprintf("@u%d:a", i), Name: "U", Status: policy.StatusActive})
	}
	r, err := Apply(ctx, st, staff, csvImport, Guard{MaxFraction: 0.1, MinRemovals: 5}, false)
	if err != nil || r.Added != 20 {
		t.Fatalf("first import: %+v %v", r, err)
	}
	if got := directoryAudit(t, st); len(got) != 1 || !strings.HasPrefix(got[0], "csv:staff.csv; caldicott directory import of staff.csv: directory records of 20 people changed: 20 added") {
		t.Fatalf("first import audited as %q", got)
	}
	// The same file again changes nobody: nothing counted, journalled or audited.
	if r, err := Apply(ctx, st, staff, csvImport, Guard{MaxFraction: 0.1, MinRemovals: 5}, false); err != nil || r.Added+r.Updated+r.Removed != 0 {
		t.Fatalf("unchanged import: %+v %v", r, err)
	}
	if a, j := directoryAudit(t, st), journal(t, st); len(a) != 1 || len(j) != 20 {
		t.Fatalf("unchanged import: %d audit entries, %d journal rows", len(a), len(j))
	}
	// Two leavers of twenty is the 10% limit: applied.
	staff[0].Status, staff[1].Status = policy.StatusLeft, policy.StatusSuspended
	if r, err := Apply(ctx, st, staff[:2], csvImport, Guard{MaxFraction: 0.1, MinRemovals: 1}, false); err != nil || r.Removed != 2 || r.Updated != 2 {
		t.Fatalf("two leavers: %+v %v", r, err)
	}
	if got := directoryAudit(t, st); len(got) != 2 || !strings.HasSuffix(got[1], "2 status changed, 0 other details changed; @u0:a @u1:a") {
		t.Fatalf("two leavers audited as %q", got)
	}
	// Five more of eighteen active is over: held, nothing written.
	for i := 2; i < 7; i++ {
		staff[i].Status = policy.StatusLeft
	}
	_, err = Apply(ctx, st, staff[2:7], csvImport, Guard{MaxFraction: 0.1, MinRemovals: 5}, false)
	var held *HeldError
	if !errors.As(err, &held) || held.Removed != 5 || held.Active != 18 || !strings.Contains(err.Error(), "would remove 5 of 18 active staff") {
		t.Fatalf("mass removal not held: %v", err)
	}
	if rec, _ := st.Staff(ctx, "@u2:a"); rec.Status != "active" {
		t.Fatalf("held update was written: %+v", rec)
	}
	if a, j := directoryAudit(t, st), journal(t, st); len(a) != 2 || len(j) != 22 {
		t.Fatalf("held update: %d audit entries, %d journal rows", len(a), len(j))
	}
	// Confirmed, it applies.
	if _, err := Apply(ctx, st, staff[2:7], csvImport, Guard{MaxFraction: 0.1, MinRemovals: 5}, true); err != nil {
		t.Fatal(err)
	}
	if rec, _ := st.Staff(ctx, "@u2:a"); rec.Status != "left" {
		t.Fatalf("confirmed update not written: %+v", rec)
	}
	if j := journal(t, st); len(j) != 27 || j[26] != "@u6:a status" {
		t.Fatalf("journal after confirmed update: %q", j[20:])
	}
}
