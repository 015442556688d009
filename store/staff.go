package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/caldicott/caldicott/internal/lookalike"
)

// StaffRecord is one person in the trust's staff directory as stored.
type StaffRecord struct {
	UserID       string
	Name         string
	Role         string
	Team         string
	Registration string
	Status       string
	Source       string
	ExternalID   string
}

const staffColumns = `user_id, name, role, team, registration, status, source, external_id`

// DirectoryAuthor says who writes to the directory, for the audit entry a
// write makes when it changes anyone.
type DirectoryAuthor struct {
	// Actor is who the audit log names: "csv:staff.csv", "ldap", "scim".
	Actor string
	// Via says how, in words, at the start of the entry's reason, e.g.
	// "caldicott directory import of staff.csv" or "SCIM PATCH".
	Via string
}

// ActionDirectoryChange is the audit action of a directory write that
// changed people. Its detail is {"changed": n, "user_ids": [...]}: Matrix
// user IDs only, never names, roles or other personal data.
const ActionDirectoryChange = "directory_change"

// SaveStaff writes records in one transaction, as UpsertStaff does, and in
// the same transaction appends one audit entry (ActionDirectoryChange) naming
// who changed. A write that changes nobody leaves no audit entry. It returns
// the journalled changes, one per person who changed.
func (s *Store) SaveStaff(ctx context.Context, records []StaffRecord, by DirectoryAuthor) ([]DirectoryChange, error) {
	return s.SaveStaffChecked(ctx, records, by, nil)
}

// RemovalCheck decides, inside a directory write's transaction (so no other
// directory write comes between the decision and the write), whether the
// people the write would move from active to suspended or left may go. An
// error refuses the whole write and is returned as it is. It reads and writes
// the store with the ctx it is given, which carries the transaction.
type RemovalCheck func(ctx context.Context, removing []string) error

// SaveStaffChecked is SaveStaff with a check of the removals it would make;
// check is called only when the write removes someone.
func (s *Store) SaveStaffChecked(ctx context.Context, records []StaffRecord, by DirectoryAuthor, check RemovalCheck) ([]DirectoryChange, error) {
	saved, err := s.SaveStaffGuarded(ctx, records, by, check, false)
	return saved.Changes, err
}

// SaveStaffConfirmed is SaveStaff for an update an admin confirmed after it
// was held: its removals are logged as confirmed (ConfirmedSource), and the
// guard of each of its sources counts afresh from now.
func (s *Store) SaveStaffConfirmed(ctx context.Context, records []StaffRecord, by DirectoryAuthor) ([]DirectoryChange, error) {
	saved, err := s.SaveStaffGuarded(ctx, records, by, nil, true)
	return saved.Changes, err
}

// StaffSaved is what a directory write did.
type StaffSaved struct {
	// Changes has one entry per person whose record changed.
	Changes []DirectoryChange
	// Removed are the people it moved from active to suspended or left.
	Removed []string
}

// SaveStaffGuarded is SaveStaffChecked (confirmed false) or
// SaveStaffConfirmed (confirmed true, check unused) that also says whom the
// write removed, as its transaction found them, so a caller need not read
// everyone's record beforehand to count its removals.
func (s *Store) SaveStaffGuarded(ctx context.Context, records []StaffRecord, by DirectoryAuthor, check RemovalCheck, confirmed bool) (StaffSaved, error) {
	if by.Actor == "" {
		return StaffSaved{}, errors.New("save staff records: no actor for the audit log")
	}
	if confirmed {
		check = nil
	}
	return s.writeStaff(ctx, records, &by, check, confirmed)
}

// UpsertStaff writes records in one transaction: a directory update is
// applied whole or not at all. Everyone whose record changed is journalled;
// nothing is audited (the caller audits, as the leaver command does).
func (s *Store) UpsertStaff(ctx context.Context, records []StaffRecord) error {
	_, err := s.writeStaff(ctx, records, nil, nil, false)
	return err
}

func (s *Store) writeStaff(ctx context.Context, records []StaffRecord, by *DirectoryAuthor, check RemovalCheck, confirmed bool) (StaffSaved, error) {
	// The last record for a person wins, as the upsert would have it.
	final := make(map[string]StaffRecord, len(records))
	var order []string
	for _, r := range records {
		if _, seen := final[r.UserID]; !seen {
			order = append(order, r.UserID)
		}
		final[r.UserID] = r
	}
	var saved StaffSaved
	err := s.directoryTxn(ctx, by != nil, func(ctx context.Context, lockAudit func()) error {
		var err error
		saved, err = s.writeStaffTxn(ctx, final, order, check, confirmed)
		if err != nil || by == nil || len(saved.Changes) == 0 {
			return err
		}
		e, err := directoryAuditEntry(*by, saved.Changes)
		if err != nil {
			return err
		}
		lockAudit()
		_, err = s.appendAuditLocked(ctx, e)
		return err
	})
	if err != nil {
		return StaffSaved{}, fmt.Errorf("save %d staff records: %w", len(records), err)
	}
	return saved, nil
}

// writeStaffTxn is writeStaff's work inside its transaction, short of the
// audit entry: it compares final with what is stored, checks the removals,
// writes only the records that differ, and journals and logs the changes.
func (s *Store) writeStaffTxn(ctx context.Context, final map[string]StaffRecord, order []string, check RemovalCheck, confirmed bool) (StaffSaved, error) {
	var out StaffSaved
	prev, err := s.staffForWrite(ctx, order)
	if err != nil {
		return out, err
	}
	out.Removed = removals(prev, final, order)
	if check != nil && len(out.Removed) > 0 {
		if err := check(ctx, out.Removed); err != nil {
			return out, err
		}
	}
	held, err := s.heldRemovalIDs(ctx)
	if err != nil {
		return out, err
	}
	if err := s.upsertStaff(ctx, recordsToWrite(prev, final, order, held), s.now().UnixMilli()); err != nil {
		return out, err
	}
	for _, id := range order {
		kind := ChangeAdded
		if p, ok := prev[id]; ok {
			kind = p.changeKind(final[id])
		}
		if kind != "" {
			out.Changes = append(out.Changes, DirectoryChange{UserID: id, Kind: kind})
		}
	}
	if err := s.journal(ctx, out.Changes); err != nil {
		return out, err
	}
	source := func(id string) string { return final[id].Source }
	if confirmed {
		source = func(id string) string { return ConfirmedSource(final[id].Source) }
		if err := s.markConfirmed(ctx, final); err != nil {
			return out, err
		}
	}
	return out, s.logRemovals(ctx, out.Removed, source)
}

// upsertStaff writes records, a chunk per statement, stamped now (Unix ms).
func (s *Store) upsertStaff(ctx context.Context, records []StaffRecord, now int64) error {
	for start := 0; start < len(records); start += insertChunk {
		chunk := records[start:min(start+insertChunk, len(records))]
		var q strings.Builder
		q.WriteString(`INSERT INTO staff (` + staffColumns + `, name_key, updated_at) VALUES `)
		args := []any{now}
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $1)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
			args = append(args, r.UserID, r.Name, r.Role, r.Team, r.Registration, r.Status, r.Source, r.ExternalID, lookalike.Key(r.Name))
		}
		q.WriteString(` ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, role = excluded.role, team = excluded.team,
			registration = excluded.registration, status = excluded.status, source = excluded.source,
			external_id = excluded.external_id, updated_at = excluded.updated_at`)
		if _, err := s.db.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// directoryAuditEntry describes a directory write for the audit log: who,
// how many people and which, by Matrix user ID alone.
func directoryAuditEntry(by DirectoryAuthor, changes []DirectoryChange) (AuditEntry, error) {
	ids := make([]string, len(changes))
	counts := map[string]int{}
	for i, c := range changes {
		ids[i] = c.UserID
		counts[c.Kind]++
	}
	sort.Strings(ids)
	detail, err := json.Marshal(struct {
		Changed int      `json:"changed"`
		UserIDs []string `json:"user_ids"`
	}{len(ids), ids})
	if err != nil {
		return AuditEntry{}, fmt.Errorf("encode audit detail: %w", err)
	}
	people := "people"
	if len(ids) == 1 {
		people = "person"
	}
	reason := fmt.Sprintf("directory records of %d %s changed: %d added, %d status changed, %d other details changed",
		len(ids), people, counts[ChangeAdded], counts[ChangeStatus], counts[ChangeUpdated])
	if by.Via != "" {
		reason = by.Via + ": " + reason
	}
	return AuditEntry{Actor: by.Actor, Action: ActionDirectoryChange, Reason: reason, Detail: string(detail)}, nil
}

// Staff looks a person up by Matrix user ID; ErrNotFound when absent.
func (s *Store) Staff(ctx context.Context, userID string) (StaffRecord, error) {
	var r StaffRecord
	err := s.db.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE user_id = $1`, userID).
		Scan(&r.UserID, &r.Name, &r.Role, &r.Team, &r.Registration, &r.Status, &r.Source, &r.ExternalID)
	if err == sql.ErrNoRows {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("look up %s in the staff directory: %w", userID, err)
	}
	return r, nil
}

// StaffCounts returns how many people the directory holds, by status.
func (s *Store) StaffCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT status, COUNT(*) FROM staff GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count staff: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// StaffWithStatus lists the user IDs of people with one of the statuses.
func (s *Store) StaffWithStatus(ctx context.Context, statuses ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, st := range statuses {
		rows, err := s.db.Query(ctx, `SELECT user_id FROM staff WHERE status = $1`, st)
		if err != nil {
			return nil, fmt.Errorf("list %s staff: %w", st, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = st
		}
		rows.Close()
	}
	return out, nil
}

// maxStaffNamed bounds StaffNamed: a warning names a few look-alikes, and a
// name shared by more people than this is not worth listing them all.
const maxStaffNamed = 10

// StaffNamed maps to their directory names the people (up to 10, by user
// ID) whose directory name looks like name: the same lookalike.Key, so
// "Dr B0b Jones" finds Bob Jones. It is empty for a name with no key.
func (s *Store) StaffNamed(ctx context.Context, name string) (map[string]string, error) {
	key := lookalike.Key(name)
	if key == "" {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT user_id, name FROM staff WHERE name_key = $1 ORDER BY user_id LIMIT $2`, key, maxStaffNamed)
	if err != nil {
		return nil, fmt.Errorf("look up staff by name: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var userID, n string
		if err := rows.Scan(&userID, &n); err != nil {
			return nil, err
		}
		out[userID] = n
	}
	return out, rows.Err()
}

// SetStaffStatus changes one person's status; ErrNotFound when absent. A
// change is journalled; setting the status someone already has writes nothing.
func (s *Store) SetStaffStatus(ctx context.Context, userID, status string) error {
	err := s.directoryTxn(ctx, false, func(ctx context.Context, _ func()) error {
		var current string
		err := s.db.QueryRow(ctx, `SELECT status FROM staff WHERE user_id = $1`, userID).Scan(&current)
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		if err != nil || current == status {
			return err
		}
		if _, err := s.db.Exec(ctx, `UPDATE staff SET status = $1, updated_at = $2 WHERE user_id = $3`, status, s.now().UnixMilli(), userID); err != nil {
			return err
		}
		return s.journal(ctx, []DirectoryChange{{UserID: userID, Kind: ChangeStatus}})
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set status of %s: %w", userID, err)
	}
	return nil
}

// StaffBySource lists everyone who came from one source.
func (s *Store) StaffBySource(ctx context.Context, source string) ([]StaffRecord, error) {
	rows, err := s.db.Query(ctx, `SELECT `+staffColumns+` FROM staff WHERE source = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("list %s staff: %w", source, err)
	}
	defer rows.Close()
	var out []StaffRecord
	for rows.Next() {
		var r StaffRecord
		if err := rows.Scan(&r.UserID, &r.Name, &r.Role, &r.Team, &r.Registration, &r.Status, &r.Source, &r.ExternalID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
