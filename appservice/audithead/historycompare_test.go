package audithead

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/caldicott/caldicott/internal/audittamper"
	"github.com/caldicott/caldicott/store"
)

// chain opens a real SQLite store holding n audit entries.
func chain(t *testing.T, n int) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "c.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i := 0; i < n; i++ {
		if _, err := st.AppendAudit(context.Background(), store.AuditEntry{Actor: "@a:x", RoomID: "!r:x", Action: "set_state", Reason: fmt.Sprint("reason ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// headAt is the head a publication at entry seq of st's chain would carry,
// as read from a room's history on server.
func headAt(t *testing.T, st *store.Store, seq int64, room, ev, server string) Published {
	t.Helper()
	e, err := st.AuditEntryAt(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute)
	return Published{EventID: id.EventID(ev), Room: id.RoomID(room), Where: "the " + room, Sent: at,
		Head: Head{Seq: seq, Hash: e.Hash, PublishedAt: at.UnixMilli()}, ServedBy: []string{server}}
}

func TestCompareHistory(t *testing.T) {
	ctx := context.Background()
	st := chain(t, 8)
	// Published at entries 2, 4 and 6, in two rooms; the attestation room's
	// copies served by this trust's homeserver and by the witness.
	var own, witness []Published
	for i, seq := range []int64{2, 4, 6} {
		own = append(own, headAt(t, st, seq, "management room", fmt.Sprint("$m", i), "b.example"))
		att := headAt(t, st, seq, "attestation room", fmt.Sprint("$a", i), "b.example")
		own = append(own, att)
		att.ServedBy = []string{"a.example"}
		witness = append(witness, att)
	}
	merged := Merge(witness, own)
	if len(merged) != 6 {
		t.Fatalf("merged %d heads, want 6 distinct events", len(merged))
	}

	v, err := CompareHistory(ctx, st, merged)
	if err != nil || len(v.Problems()) != 0 || v.Matched != 6 {
		t.Fatalf("an untouched chain: %v %v, matched %d", v.Problems(), err, v.Matched)
	}

	t.Run("rewritten from entry 3 and re-signed: the earliest published head after it is named", func(t *testing.T) {
		st := chain(t, 8)
		var heads []Published
		for i, seq := range []int64{2, 4, 6} {
			heads = append(heads, headAt(t, st, seq, "attestation room", fmt.Sprint("$a", i), "a.example"))
		}
		if err := audittamper.Rewrite(ctx, st, 3, func(e *store.AuditEntry) { e.Reason = "rewritten" }); err != nil {
			t.Fatal(err)
		}
		// The attacker's new head of the rewritten chain matches.
		heads = append(heads, headAt(t, st, 8, "attestation room", "$new", "a.example"))
		v, err := CompareHistory(ctx, st, heads)
		if err != nil {
			t.Fatal(err)
		}
		p := v.Problems()
		if len(p) != 1 || v.Matched != 2 || len(v.Mismatched) != 2 {
			t.Fatalf("problems %q, matched %d, mismatched %d", p, v.Matched, len(v.Mismatched))
		}
		for _, want := range []string{"is entry 4,", "event $a1, served by a.example", "rewritten from entry 4 or earlier", "as published up to entry 2", "1 later published head(s) do not match"} {
			if !strings.Contains(p[0], want) {
				t.Errorf("%q lacks %q", p[0], want)
			}
		}
	})

	t.Run("cut short below a published head", func(t *testing.T) {
		st := chain(t, 5)
		h := headAt(t, st, 5, "attestation room", "$a", "a.example")
		if err := audittamper.Run(ctx, st, `DELETE FROM audit_log WHERE seq > 3`); err != nil {
			t.Fatal(err)
		}
		if err := audittamper.Run(ctx, st, `UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3) WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		v, err := CompareHistory(ctx, st, []Published{h})
		if err != nil || len(v.Problems()) != 1 || !strings.Contains(v.Problems()[0], "ends at entry 3: entries were deleted") {
			t.Fatalf("%q %v", v.Problems(), err)
		}
	})

	t.Run("an untrusted head is reported, not compared", func(t *testing.T) {
		bad := headAt(t, st, 4, "attestation room", "$forged", "a.example")
		bad.Problem = "it is signed with X, not with the key Y"
		v, err := CompareHistory(ctx, st, append(Merge(own), bad))
		if err != nil || v.Matched != 6 || len(v.Problems()) != 1 || !strings.Contains(v.Problems()[0], "event $forged, served by a.example) cannot be trusted: it is signed with X") {
			t.Fatalf("%q %v", v.Problems(), err)
		}
	})

	t.Run("a refusal by one homeserver's check stands in the merge", func(t *testing.T) {
		a, b := headAt(t, st, 2, "r", "$x", "a.example"), headAt(t, st, 2, "r", "$x", "b.example")
		b.Problem = "not the pinned key"
		m := Merge([]Published{a}, []Published{b})
		if len(m) != 1 || m[0].Problem == "" || strings.Join(m[0].ServedBy, ",") != "a.example,b.example" {
			t.Fatalf("%+v", m)
		}
	})

	t.Run("a head the witness serves and this trust's homeserver no longer does", func(t *testing.T) {
		ownHist := History{Server: "b.example", rooms: map[id.RoomID]bool{"attestation room": true}}
		// Our homeserver lost $a0 (the room purged and rebuilt, say).
		m := Merge(witness, own[2:])
		missing := MissingFrom(m, ownHist)
		if len(missing) != 1 || !strings.Contains(missing[0], "b.example no longer serves the head sent in the attestation room") || !strings.Contains(missing[0], "(event $a0) that a.example serves") {
			t.Fatalf("%q", missing)
		}
		if got := MissingFrom(Merge(witness, own), ownHist); len(got) != 0 {
			t.Fatalf("nothing missing, yet %q", got)
		}
	})
}
