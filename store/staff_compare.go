package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
)

// storedStaff is what a directory write keeps of a stored record to compare
// an update with: the status and digests of the rest, not the record, so a
// full sync of 100,000 people does not hold the whole table as well as the
// update. A digest is 128 bits of SHA-256: no accidental collision hides a
// change.
type storedStaff struct {
	status string
	// details covers what StaffChangeKind compares besides the status;
	// bookkeeping, the source and external ID it ignores.
	details, bookkeeping [16]byte
}

func digest(fields ...string) [16]byte {
	sum := sha256.Sum256([]byte(strings.Join(fields, "\x00")))
	return [16]byte(sum[:16])
}

func storedOf(r StaffRecord) storedStaff {
	return storedStaff{
		status:      r.Status,
		details:     digest(r.Name, r.Role, r.Team, r.Registration),
		bookkeeping: digest(r.Source, r.ExternalID),
	}
}

// changeKind is StaffChangeKind for a stored person.
func (p storedStaff) changeKind(next StaffRecord) string {
	switch {
	case p.status != next.Status:
		return ChangeStatus
	case p.details != digest(next.Name, next.Role, next.Team, next.Registration):
		return ChangeUpdated
	}
	return ""
}

// bulkStaffRead is how many people a directory write names before it reads
// the whole staff table in one query rather than by user ID a chunk at a
// time: a full sync names nearly everyone, and one scan is far cheaper than
// a thousand lookups inside the write's transaction.
const bulkStaffRead = 5000

// staffForWrite reads what a directory write compares of the given people.
func (s *Store) staffForWrite(ctx context.Context, userIDs []string) (map[string]storedStaff, error) {
	out := make(map[string]storedStaff, len(userIDs))
	if len(userIDs) >= bulkStaffRead {
		wanted := make(map[string]struct{}, len(userIDs))
		for _, id := range userIDs {
			wanted[id] = struct{}{}
		}
		return out, s.readStored(ctx, out, wanted, `SELECT `+staffColumns+` FROM staff`)
	}
	for start := 0; start < len(userIDs); start += insertChunk {
		chunk := userIDs[start:min(start+insertChunk, len(userIDs))]
		args := make([]any, len(chunk))
		marks := make([]string, len(chunk))
		for i, id := range chunk {
			args[i], marks[i] = id, fmt.Sprintf("$%d", i+1)
		}
		if err := s.readStored(ctx, out, nil, `SELECT `+staffColumns+` FROM staff WHERE user_id IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readStored adds to out the digests of the records query finds, of those in
// wanted if it is not nil.
func (s *Store) readStored(ctx context.Context, out map[string]storedStaff, wanted map[string]struct{}, query string, args ...any) error {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read staff records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r StaffRecord
		if err := rows.Scan(&r.UserID, &r.Name, &r.Role, &r.Team, &r.Registration, &r.Status, &r.Source, &r.ExternalID); err != nil {
			return fmt.Errorf("read staff records: %w", err)
		}
		if _, ok := wanted[r.UserID]; ok || wanted == nil {
			out[r.UserID] = storedOf(r)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read staff records: %w", err)
	}
	return nil
}

// heldRemovalIDs lists the people with a removal held for confirmation.
func (s *Store) heldRemovalIDs(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.Query(ctx, `SELECT user_id FROM directory_held_removal`)
	if err != nil {
		return nil, fmt.Errorf("list held removals: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list held removals: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// recordsToWrite picks from final, in order, the records a directory write
// must store: those new or differing from what is stored. A record sent
// again unchanged is skipped — a full sync of an unchanged directory writes
// nothing — unless its person has a removal held: its write stamps
// updated_at, which tells ConfirmRemovals the source has spoken for them
// since the refusal, as it did when every record was written.
func recordsToWrite(prev map[string]storedStaff, final map[string]StaffRecord, order []string, held map[string]bool) []StaffRecord {
	var out []StaffRecord
	for _, id := range order {
		p, stored := prev[id]
		if !stored || p != storedOf(final[id]) || held[id] {
			out = append(out, final[id])
		}
	}
	return out
}
