package store

import (
	"context"
	"errors"
	"testing"
)

// Deleted files are read from the audit log's done delete_media entries,
// after a given entry and by nothing else; a URI's hash from the index.
func TestMediaDeletionsAfter(t *testing.T) {
	withAllEngines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, e := range []AuditEntry{
			{Actor: "@bot:a", RoomID: "!r:a", Action: "redact", Reason: "expired", Detail: `{"event_id":"$1"}`},
			{Actor: "@bot:a", RoomID: "!r:a", Action: "delete_media", Reason: "expired", Detail: `{"hash":"h1","media":"mxc://a/x","txn":"t1"}`},
			{Actor: "@bot:a", RoomID: "!r:a", Action: "failed.delete_media", Reason: "failed", Detail: `{"hash":"h9","media":"mxc://a/failed","txn":"t2"}`},
			{Actor: "@bot:a", RoomID: "!r:a", Action: "dry_run.delete_media", Reason: "dry", Detail: `{"hash":"h8","media":"mxc://a/dry","txn":"t3"}`},
			{Actor: "@bot:a", RoomID: "!r:a", Action: "delete_media", Reason: "expired", Detail: `{"hash":"h2","media":"mxc://a/y","txn":"t4"}`},
		} {
			if _, err := s.AppendAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.MediaDeletionsAfter(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].URI != "mxc://a/x" || all[0].Hash != "h1" || all[1].URI != "mxc://a/y" || all[1].Hash != "h2" || all[0].Seq >= all[1].Seq {
			t.Fatalf("deleted files %+v; want mxc://a/x (h1) then mxc://a/y (h2)", all)
		}
		if after, err := s.MediaDeletionsAfter(ctx, all[0].Seq, 10); err != nil || len(after) != 1 || after[0].URI != "mxc://a/y" {
			t.Fatalf("after the first: %+v (%v); want mxc://a/y only", after, err)
		}
		if first, err := s.MediaDeletionsAfter(ctx, 0, 1); err != nil || len(first) != 1 || first[0].URI != "mxc://a/x" {
			t.Fatalf("limit 1: %+v (%v)", first, err)
		}
		if err := s.SetMediaHash(ctx, "mxc://a/z", "h1"); err != nil {
			t.Fatal(err)
		}
		if h, err := s.MediaHashOf(ctx, "mxc://a/z"); err != nil || h != "h1" {
			t.Fatalf("hash of mxc://a/z: %q (%v); want h1", h, err)
		}
		if _, err := s.MediaHashOf(ctx, "mxc://a/unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("hash of an unknown URI: %v; want ErrNotFound", err)
		}
	})
}
