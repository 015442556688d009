package compliancetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caldicott/caldicott/gatekeeper"
	"github.com/caldicott/caldicott/policy"
	"github.com/caldicott/caldicott/store"
)

// Large sizes the trust SeedLarge writes.
type Large struct {
	ClinicalRooms, Staff int
	// MembersPerRoom is how many staff each clinical room holds.
	MembersPerRoom int
	// AuditEntries are written in the last 30 days (refusals and actions).
	AuditEntries int
}

// SeedLarge writes a trust of the given size straight into the store (the
// benchmark's data): one room in twenty not compliant, one review in ten
// overdue, most members attested, one in twenty short of verified.
func SeedLarge(t testing.TB, st *store.Store, l Large) {
	t.Helper()
	ctx := context.Background()
	at(st, Now.Add(-100*24*time.Hour))
	err := st.DB().DoTxn(ctx, nil, func(ctx context.Context) error {
		if err := largeStaff(ctx, st, l); err != nil {
			return err
		}
		return largeRooms(ctx, st, l)
	})
	if err != nil {
		t.Fatal(err)
	}
	at(st, Now.Add(-24*time.Hour))
	for i := range l.AuditEntries {
		e := store.AuditEntry{Actor: Bot, RoomID: roomID(i % l.ClinicalRooms), Action: string(policy.NotifyRoom), Reason: "told the room",
			Detail: `{"rule":"notice"}`}
		if i%10 == 0 {
			e.Actor, e.Action, e.Reason, e.Detail = staffID(i%l.Staff), gatekeeper.ActionRefused, "gate_stranger", `{"endpoint":"invite"}`
		}
		if _, err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	at(st, Now)
}

func staffID(i int) string { return fmt.Sprintf("@staff%05d:%s", i, Domain) }
func roomID(i int) string  { return fmt.Sprintf("!room%04d:%s", i, Domain) }

func largeStaff(ctx context.Context, st *store.Store, l Large) error {
	records := make([]store.StaffRecord, l.Staff)
	for i := range records {
		records[i] = store.StaffRecord{UserID: staffID(i), Name: fmt.Sprintf("Person %d", i), Role: "Nurse", Team: fmt.Sprintf("Ward %d", i%40),
			Status: "active", Source: "csv"}
	}
	if err := st.UpsertStaff(ctx, records); err != nil {
		return err
	}
	for i := range l.Staff {
		uid := staffID(i)
		if i%20 == 7 {
			if err := st.SaveVerificationState(ctx, store.VerificationState{UserID: uid, Status: string(policy.UnsignedDevice), ShortSince: Now.Add(-time.Hour), Suspended: i%40 == 7}); err != nil {
				return err
			}
			continue
		}
		if i%10 != 3 {
			if err := st.SaveAttestation(ctx, store.Attestation{UserID: uid, MasterKey: "key", Method: "emoji", AttestedBy: Bot}); err != nil {
				return err
			}
		}
	}
	return nil
}

func largeRooms(ctx context.Context, st *store.Store, l Large) error {
	for r := range l.ClinicalRooms {
		id := roomID(r)
		p := store.RoomPolicy{RoomID: id, Class: "clinical", Compliant: r%20 != 0, ClassifiedBy: staffID(r % l.Staff)}
		if !p.Compliant {
			p.Problems = []string{"Encryption is off."}
		}
		if err := st.SaveRoomPolicy(ctx, p); err != nil {
			return err
		}
		members := store.Members{Bot: "Caldicott"}
		for m := range l.MembersPerRoom {
			members[staffID((r*l.MembersPerRoom/2+m)%l.Staff)] = ""
		}
		if err := st.SaveRoomMembers(ctx, id, members); err != nil {
			return err
		}
		interval := 365 * 24 * time.Hour
		if r%10 == 0 {
			interval = 90 * 24 * time.Hour
		}
		if err := st.EnsureReview(ctx, id, interval); err != nil {
			return err
		}
		if err := st.SaveSweepState(ctx, store.SweepState{RoomID: id, LastStarted: Now.Add(-5 * time.Minute), LastFinished: Now.Add(-5 * time.Minute), Redacted: int64(r), Backlog: int64(r % 3)}); err != nil {
			return err
		}
	}
	return nil
}
