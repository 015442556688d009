package directory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"

	"github.com/caldicott/caldicott/policy"
)

// RowError is a problem with one line of an import file.
type RowError struct {
	Line int
	Msg  string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ImportError lists every bad row; nothing was imported.
type ImportError struct{ Rows []RowError }

func (e *ImportError) Error() string {
	msgs := make([]string, len(e.Rows))
	for i, r := range e.Rows {
		msgs[i] = r.Error()
	}
	return fmt.Sprintf("%d bad row(s), nothing imported:\n  %s", len(e.Rows), strings.Join(msgs, "\n  "))
}

// CSV columns: user_id, name and status are required; role, team and
// registration may be absent or empty.
var (
	requiredColumns = []string{"user_id", "name", "status"}
	knownColumns    = map[string]bool{"user_id": true, "name": true, "status": true, "role": true, "team": true, "registration": true}
)

// ParseCSV reads a staff export and validates every row. People must be
// users of ownServer: a trust's directory only speaks for its own staff.
// It returns an *ImportError naming each bad row by line when any is bad.
func ParseCSV(r io.Reader, ownServer string) ([]policy.StaffEntry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // we report wrong field counts ourselves, by line
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: expected a header line with user_id,name,status[,role,team,registration]")
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !knownColumns[h] {
			return nil, fmt.Errorf("line 1: unknown column %q (known: user_id, name, status, role, team, registration)", h)
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("line 1: column %q appears twice", h)
		}
		col[h] = i
	}
	for _, c := range requiredColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("line 1: missing column %q", c)
		}
	}
	var (
		entries []policy.StaffEntry
		bad     []RowError
		seen    = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, RowError{Line: pe.Line, Msg: pe.Err.Error()})
				continue
			}
			return nil, err
		}
		// Only a row read whole has field positions: asked after an
		// error (an unterminated quote on the last line), FieldPos panics.
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			bad = append(bad, RowError{Line: line, Msg: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		e := policy.StaffEntry{UserID: get("user_id"), Name: get("name"), Role: get("role"), Team: get("team"), Registration: get("registration")}
		if msg := validateEntry(&e, get("status"), ownServer); msg != "" {
			bad = append(bad, RowError{Line: line, Msg: msg})
			continue
		}
		if first, dup := seen[e.UserID]; dup {
			bad = append(bad, RowError{Line: line, Msg: fmt.Sprintf("%s already appears on line %d", e.UserID, first)})
			continue
		}
		seen[e.UserID] = line
		entries = append(entries, e)
	}
	if len(bad) > 0 {
		return nil, &ImportError{Rows: bad}
	}
	return entries, nil
}

// maxFieldBytes bounds a person's name, role and team: room for any real
// one, and a bound on what one bad row or request can store.
const maxFieldBytes = 256

// validateEntry checks one person and fills in the parsed status; it
// returns what is wrong, or "".
func validateEntry(e *policy.StaffEntry, status, ownServer string) string {
	uid, err := spec.NewUserID(e.UserID, false)
	switch {
	case e.UserID == "":
		return "user_id is empty"
	case err != nil:
		return fmt.Sprintf("user_id %q is not a Matrix user ID (@name:server)", e.UserID)
	case string(uid.Domain()) != ownServer:
		return fmt.Sprintf("user_id %s is not on this trust's server %s", e.UserID, ownServer)
	case e.Name == "":
		return "name is empty"
	}
	for _, f := range []struct{ name, value string }{{"name", e.Name}, {"role", e.Role}, {"team", e.Team}} {
		if len(f.value) > maxFieldBytes {
			return fmt.Sprintf("%s is %d bytes long; at most %d are accepted", f.name, len(f.value), maxFieldBytes)
		}
	}
	st, ok := policy.ParseStaffStatus(status)
	if !ok {
		return fmt.Sprintf("status %q is not active, suspended or left", status)
	}
	e.Status = st
	if err := policy.ValidateRegistration(e.Registration); err != nil {
		return err.Error()
	}
	return ""
}
