package audithead

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/caldicott/caldicott/store"
)

// HistoryVerdict is the database compared with every head ever published,
// wherever it was read.
type HistoryVerdict struct {
	// Heads are the distinct head events read (an event served by several
	// homeservers counts once), oldest entry first.
	Heads []Published
	// Matched counts the valid heads the database still holds as published.
	Matched int
	// Mismatched are the valid heads the database no longer holds, earliest
	// entry first: the first is where the rewrite shows.
	Mismatched []Published
	// why[i] says what happened to Mismatched[i] (rewritten or cut short).
	why []string
	// LastGood is the latest head before the first mismatch that still
	// matches (nil if none): the log is as published up to its entry.
	LastGood *Published
	// Untrusted are heads that cannot be trusted at all (set by someone
	// else, redacted, signed by another key).
	Untrusted []Published
}

// Merge joins the heads read from several homeservers: the same event
// served by two of them is one head, served by both.
func Merge(lists ...[]Published) []Published {
	var out []Published
	at := map[string]int{}
	for _, l := range lists {
		for _, p := range l {
			key := string(p.Room) + " " + string(p.EventID)
			if i, ok := at[key]; ok {
				out[i].ServedBy = appendNew(out[i].ServedBy, p.ServedBy...)
				if out[i].Problem == "" && p.Problem != "" {
					// One homeserver's check refused it (checked against a
					// pinned key, say): the refusal stands.
					out[i].Problem = p.Problem
				}
				continue
			}
			at[key] = len(out)
			out = append(out, p)
		}
	}
	return out
}

func appendNew(to []string, more ...string) []string {
	for _, m := range more {
		found := false
		for _, t := range to {
			found = found || t == m
		}
		if !found {
			to = append(to, m)
		}
	}
	return to
}

// CompareHistory checks that every valid head is an earlier point of the
// chain the database holds today: entry Seq must still have the published
// hash. A chain rewritten and re-signed still fails here, on the heads
// published before the rewrite.
func CompareHistory(ctx context.Context, st *store.Store, heads []Published) (HistoryVerdict, error) {
	var v HistoryVerdict
	for _, p := range heads {
		if p.Problem != "" {
			v.Untrusted = append(v.Untrusted, p)
			continue
		}
		v.Heads = append(v.Heads, p)
	}
	sort.SliceStable(v.Heads, func(i, j int) bool {
		if v.Heads[i].Head.Seq != v.Heads[j].Head.Seq {
			return v.Heads[i].Head.Seq < v.Heads[j].Head.Seq
		}
		return v.Heads[i].Sent.Before(v.Heads[j].Sent)
	})
	sort.SliceStable(v.Untrusted, func(i, j int) bool { return v.Untrusted[i].Sent.Before(v.Untrusted[j].Sent) })
	headSeq, _, err := st.AuditHead(ctx)
	if err != nil {
		return v, err
	}
	for i := range v.Heads {
		p := &v.Heads[i]
		e, err := st.AuditEntryAt(ctx, p.Head.Seq)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.Mismatched = append(v.Mismatched, *p)
			v.why = append(v.why, fmt.Sprintf("the log in the database ends at entry %d: entries were deleted (the chain was cut short)", headSeq))
		case err != nil:
			return v, err
		case e.Hash != p.Head.Hash:
			v.Mismatched = append(v.Mismatched, *p)
			v.why = append(v.why, fmt.Sprintf("the database's entry %d has hash %s, published %s: the log was rewritten from entry %d or earlier, and its hashes recomputed (and the head re-signed) to hide it", p.Head.Seq, short(e.Hash), short(p.Head.Hash), p.Head.Seq))
		default:
			v.Matched++
			if len(v.Mismatched) == 0 {
				v.LastGood = p
			}
		}
	}
	return v, nil
}

// Problems says, for people, what the comparison found: the earliest head
// the database no longer holds (and which homeservers served it), and every
// head that cannot be trusted. None when the history holds.
func (v HistoryVerdict) Problems() []string {
	var out []string
	if len(v.Mismatched) > 0 {
		p := v.Mismatched[0]
		// The same head is published in two rooms: name every copy.
		var copies []string
		for _, m := range v.Mismatched {
			if m.Head.Seq == p.Head.Seq && m.Head.Hash == p.Head.Hash {
				copies = append(copies, fmt.Sprintf("in %s (event %s, served by %s)", m.Where, m.EventID, strings.Join(m.ServedBy, " and ")))
			}
		}
		s := fmt.Sprintf("the earliest published head the database no longer holds is entry %d, published on %s %s: %s",
			p.Head.Seq, p.Head.Time().Format("2006-01-02 15:04:05 MST"), strings.Join(copies, " and "), v.why[0])
		if v.LastGood != nil {
			s += fmt.Sprintf("; the log is as published up to entry %d (head of %s)", v.LastGood.Head.Seq, v.LastGood.Head.Time().Format("2006-01-02 15:04:05 MST"))
		}
		if n := len(v.Mismatched) - len(copies); n > 0 {
			s += fmt.Sprintf("; %d later published head(s) do not match either", n)
		}
		out = append(out, s)
	}
	for _, p := range v.Untrusted {
		out = append(out, fmt.Sprintf("the head sent in %s on %s (event %s, served by %s) cannot be trusted: %s",
			p.Where, p.Sent.Format("2006-01-02 15:04:05 MST"), p.EventID, strings.Join(p.ServedBy, " and "), p.Problem))
	}
	return out
}

// MissingFrom says which heads that other homeservers serve (heads, merged)
// are missing from own's history of a room own did read. A homeserver
// deletes no event (a redaction leaves it, emptied), so a missing head
// means its copy of the room was altered: purged, or rebuilt. Read own
// after the others, so that a head published meanwhile is not taken for
// one missing.
func MissingFrom(heads []Published, own History) []string {
	var out []string
	for _, p := range heads {
		if !own.rooms[p.Room] || contains(p.ServedBy, own.Server) {
			continue
		}
		out = append(out, fmt.Sprintf("%s no longer serves the head sent in %s on %s (event %s) that %s serves: its copy of the room's history was altered (purged or rebuilt)",
			own.Server, p.Where, p.Sent.Format("2006-01-02 15:04:05 MST"), p.EventID, strings.Join(p.ServedBy, " and ")))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
