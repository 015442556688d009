package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A record's request and its acceptance are each stored with their audit
// entry, once: the request handled again after a crash finds the row and
// writes no second entry; on both engines.
func TestRecordAuditedOnce(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rec := PatientRecord{RoomID: "!r:a", EventID: "$msg", CommandID: "$cmd", RecordedBy: "@dr:a", Payload: "{}"}
		requested := AuditEntry{Actor: "@dr:a", RoomID: "!r:a", Action: "record.requested", Detail: "{}"}
		for try := range 2 {
			row, err := s.AddRecordWithAudit(ctx, rec, requested)
			if (try == 0 && err != nil) || (try == 1 && !errors.Is(err, ErrAlreadyRecorded)) {
				t.Fatalf("try %d: %v", try, err)
			}
			if row.CommandID != "$cmd" || row.State != RecordPending {
				t.Fatalf("try %d: row %+v", try, row)
			}
		}
		accepted := AuditEntry{Actor: "@bot:a", RoomID: "!r:a", Action: "record.accepted", Detail: "{}"}
		if err := s.RecordAccepted(ctx, "!r:a", "$msg", "Communication/1", accepted); err != nil {
			t.Fatal(err)
		}
		if row, err := s.RecordOf(ctx, "!r:a", "$msg"); err != nil || row.State != RecordAccepted || row.Payload != "" {
			t.Fatalf("accepted row %+v %v", row, err)
		}
		entries, err := s.AuditForRoom(ctx, "!r:a", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Action)
		}
		if strings.Join(got, ",") != "record.requested,record.accepted" && strings.Join(got, ",") != "record.accepted,record.requested" {
			t.Fatalf("audit %v, want one request and one acceptance", got)
		}
	})
}
