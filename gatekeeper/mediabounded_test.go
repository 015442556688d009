package gatekeeper

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/caldicott/caldicott/store"
)

// A file whose every message retention deleted is refused as deleted
// before the sweep deletes its bytes; a file one live message still uses,
// another server's file, and a file judged since (off the queue) pass.
func TestDownloadOfFileAwaitingDeletion(t *testing.T) {
	g, st := newJoinRig(t)
	ctx := context.Background()
	if _, err := st.MediaIndexBegun(ctx); err != nil {
		t.Fatal(err)
	}
	sent := st.Now().Add(time.Minute)
	refs := []store.MediaRef{
		{URI: "mxc://trust-a.nhs.uk/scan", RoomID: wardRoom, EventID: "$1", Sent: sent},
		{URI: "mxc://trust-a.nhs.uk/scan", RoomID: teaRoom, EventID: "$2", Sent: sent},
		{URI: "mxc://trust-a.nhs.uk/shared", RoomID: wardRoom, EventID: "$3", Sent: sent},
		{URI: "mxc://trust-a.nhs.uk/shared", RoomID: teaRoom, EventID: "$4", Sent: sent},
		{URI: "mxc://trust-b.nhs.uk/scan", RoomID: wardRoom, EventID: "$5", Sent: sent},
	}
	if err := st.AddMediaRefs(ctx, refs); err != nil {
		t.Fatal(err)
	}
	var cs []store.MediaCandidate
	for _, r := range refs {
		if r.EventID != "$4" { // $4 is not expired: its message stays
			cs = append(cs, store.MediaCandidate{URI: r.URI, RoomID: r.RoomID, EventID: r.EventID})
		}
	}
	if err := st.AddMediaCandidates(ctx, cs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status int
	}{
		{"/_matrix/client/v1/media/download/trust-a.nhs.uk/scan", 404},
		{"/_matrix/media/v3/thumbnail/trust-a.nhs.uk/scan?width=32&height=32", 404},
		{"/_matrix/federation/v1/media/download/scan", 404},
		{"/_matrix/client/v1/media/download/trust-a.nhs.uk/shared", 200},
		{"/_matrix/client/v1/media/download/trust-b.nhs.uk/scan", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := g.do(t, http.MethodGet, tt.path, nil)
			g.expect(t, http.MethodGet, tt.path, nil, a, tt.status, "This file was deleted under the room's retention period.")
		})
	}
	// Judged and kept (say, another URI with its bytes is still used):
	// off the queue, served again.
	for _, id := range []string{"$1", "$2"} {
		if err := st.DropMediaCandidate(ctx, "mxc://trust-a.nhs.uk/scan", id); err != nil {
			t.Fatal(err)
		}
	}
	path := "/_matrix/client/v1/media/download/trust-a.nhs.uk/scan/x.png"
	g.expect(t, http.MethodGet, path, nil, g.do(t, http.MethodGet, path, nil), 200, "")
}

// fakeDeletions is an audit log of n deletions, each of its own bytes.
type fakeDeletions struct{ n int64 }

func (f fakeDeletions) MediaDeletionsAfter(_ context.Context, seq int64, limit int) ([]store.MediaDeletion, error) {
	var out []store.MediaDeletion
	for s := seq + 1; s <= f.n && len(out) < limit; s++ {
		out = append(out, store.MediaDeletion{Seq: s, URI: fmt.Sprintf("mxc://trust-a.nhs.uk/file%010d", s), Hash: fmt.Sprintf("hash-of-file-%032d", s)})
	}
	return out, nil
}

func (fakeDeletions) MediaHashOf(context.Context, string) (string, error) {
	return "", store.ErrNotFound
}

func (fakeDeletions) MediaAwaitingDeletion(context.Context, string) (bool, error) {
	return false, nil
}

// The deletions remembered in memory are bounded: the latest are kept,
// the oldest (whose bytes are long gone, which Dendrite says itself)
// forgotten, whatever the audit log holds.
func TestDeletedMediaIsBounded(t *testing.T) {
	ctx := context.Background()
	d := newDeletedMedia(fakeDeletions{n: 25000}, time.Hour)
	d.limit = 10000
	if gone, err := d.Deleted(ctx, "mxc://trust-a.nhs.uk/file0000025000", true); err != nil || !gone {
		t.Fatalf("the latest deletion: %v %v", gone, err)
	}
	if gone, _ := d.Deleted(ctx, "mxc://trust-a.nhs.uk/file0000000001", true); gone {
		t.Fatal("the oldest deletion is still remembered past the limit")
	}
	if len(d.uris) != d.limit || len(d.hashes) != d.limit || len(d.order) != d.limit {
		t.Fatalf("remembered %d URIs, %d hashes, %d in order; want %d each", len(d.uris), len(d.hashes), len(d.order), d.limit)
	}
}

// heapOfDeletions measures the heap one deletedMedia holds after reading
// n deletions, with the given limit (for the figures in docs/gatekeeper.md).
func heapOfDeletions(n int64, limit int) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := newDeletedMedia(fakeDeletions{n: n}, time.Hour)
	d.limit = limit
	_, _ = d.Deleted(context.Background(), "mxc://trust-a.nhs.uk/x", false)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(d)
	return after.HeapAlloc - before.HeapAlloc
}

// The heap follows the limit, not the audit log: 100,000 deletions held
// unbounded (as before) take over ten times what the latest 5,000 do.
// (Measured with the real limit: 500,000 deletions took 120 MiB
// unbounded, 13.6 MiB with 50,000 remembered; docs/gatekeeper.md.)
func TestDeletedMediaHeapIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const n, limit = 100000, 5000
	unbounded, bounded := heapOfDeletions(n, n), heapOfDeletions(n, limit)
	t.Logf("%d deletions: %.1f MiB unbounded, %.1f MiB remembering %d", n, float64(unbounded)/(1<<20), float64(bounded)/(1<<20), limit)
	if bounded*10 > unbounded {
		t.Fatalf("remembering %d of %d deletions holds %d bytes, unbounded %d: not bounded", limit, n, bounded, unbounded)
	}
}

// When the store cannot be read, this server's files are refused 503 (one
// awaiting deletion still has its bytes), other servers' pass.
func TestDownloadWhenTheStoreCannotBeRead(t *testing.T) {
	g, st := newJoinRig(t)
	st.Close()
	own := "/_matrix/client/v1/media/download/trust-a.nhs.uk/scan"
	g.expect(t, http.MethodGet, own, nil, g.do(t, http.MethodGet, own, nil), http.StatusServiceUnavailable, "could not check whether this file was deleted")
	fed := "/_matrix/federation/v1/media/download/scan"
	g.expect(t, http.MethodGet, fed, nil, g.do(t, http.MethodGet, fed, nil), http.StatusServiceUnavailable, "could not check whether this file was deleted")
	other := "/_matrix/client/v1/media/download/trust-b.nhs.uk/scan"
	g.expect(t, http.MethodGet, other, nil, g.do(t, http.MethodGet, other, nil), 200, "")
}
