package store

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestBulkReadsForTheCompliancePage(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.SaveRoomMembers(ctx, "!a:x", Members{"@u1:x": "U1", "@u2:x": "U2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveRoomMembers(ctx, "!b:x", Members{"@u2:x": "U2"}); err != nil {
			t.Fatal(err)
		}
		all, err := s.AllRoomMemberIDs(ctx)
		if err != nil || len(all) != 2 || strings.Join(all["!a:x"], ",") != "@u1:x,@u2:x" || strings.Join(all["!b:x"], ",") != "@u2:x" {
			t.Errorf("AllRoomMemberIDs: %v %v", all, err)
		}
		if rooms, err := s.RoomsOfMember(ctx, "@u2:x"); err != nil || strings.Join(rooms, ",") != "!a:x,!b:x" {
			t.Errorf("RoomsOfMember: %v %v", rooms, err)
		}
		if err := s.SaveVerificationState(ctx, VerificationState{UserID: "@u1:x", Status: "unsigned_device", ShortSince: time.UnixMilli(5000), Suspended: true}); err != nil {
			t.Fatal(err)
		}
		if st, err := s.VerificationStates(ctx); err != nil || len(st) != 1 || !st[0].Suspended || st[0].ShortSince.UnixMilli() != 5000 {
			t.Errorf("VerificationStates: %+v %v", st, err)
		}
		if err := s.UpsertStaff(ctx, []StaffRecord{{UserID: "@u1:x", Name: "U", Status: "active"}, {UserID: "@u2:x", Name: "V", Status: "left"}}); err != nil {
			t.Fatal(err)
		}
		if st, err := s.StaffStatuses(ctx); err != nil || len(st) != 2 || st["@u2:x"] != "left" {
			t.Errorf("StaffStatuses: %v %v", st, err)
		}
		if err := s.SaveAttestation(ctx, Attestation{UserID: "@u2:x", MasterKey: "k", Method: "emoji", AttestedBy: "@bot:x"}); err != nil {
			t.Fatal(err)
		}
		if ids, err := s.AttestedUsers(ctx); err != nil || strings.Join(ids, ",") != "@u2:x" {
			t.Errorf("AttestedUsers: %v %v", ids, err)
		}
		// The exceptions only: @u3 is in a room but not in the directory,
		// @u4 in the directory but in no room.
		if err := s.SaveRoomMembers(ctx, "!c:x", Members{"@u3:x": "", "@u2:x": ""}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpsertStaff(ctx, []StaffRecord{{UserID: "@u4:x", Name: "W", Status: "suspended"}}); err != nil {
			t.Fatal(err)
		}
		if st, err := s.StaffNotActive(ctx); err != nil || len(st) != 2 || st["@u2:x"] != "left" || st["@u4:x"] != "suspended" {
			t.Errorf("StaffNotActive: %v %v", st, err)
		}
		if ids, err := s.RoomMembersNotInStaff(ctx); err != nil || strings.Join(ids, ",") != "@u3:x" {
			t.Errorf("RoomMembersNotInStaff: %v %v", ids, err)
		}
		ids, err := s.RoomMembersNotAttested(ctx)
		sort.Strings(ids)
		if err != nil || strings.Join(ids, ",") != "@u1:x,@u3:x" {
			t.Errorf("RoomMembersNotAttested: %v %v", ids, err)
		}
	})
}

func TestAuditPeriodSummary(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, action := range []string{"kick", "gatekeeper.refused", "kick", "invite", "kick", "note"} {
			s.SetClock(func() time.Time { return base.Add(time.Duration(i) * time.Hour) })
			if _, err := s.AppendAudit(ctx, AuditEntry{Actor: "@a:x", Action: action, Reason: "r", Detail: "{}"}); err != nil {
				t.Fatal(err)
			}
		}
		// The period [1h, 5h): entries 2 to 5.
		from, to := base.Add(time.Hour), base.Add(5*time.Hour)
		counts, err := s.AuditActionCounts(ctx, from, to)
		if err != nil || counts["kick"] != 2 || counts["gatekeeper.refused"] != 1 || counts["invite"] != 1 || counts["note"] != 0 {
			t.Errorf("AuditActionCounts: %v %v", counts, err)
		}
		latest, err := s.AuditLatest(ctx, from, to, []string{"kick", "invite"}, 2)
		if err != nil || len(latest) != 2 || latest[0].Seq != 5 || latest[1].Seq != 4 {
			t.Errorf("AuditLatest: %+v %v", latest, err)
		}
		if none, err := s.AuditLatest(ctx, from, to, nil, 2); err != nil || len(none) != 0 {
			t.Errorf("AuditLatest of no action: %v %v", none, err)
		}
	})
}
