package policylist

// refusals keeps the most recent refusals in a ring, so a member writing
// junk in a loop costs a fixed amount of memory, and counts all of them.
type refusals struct {
	ring  []Refusal
	next  int
	total int
	// seen holds the event IDs in the ring, so an event delivered twice
	// (timeline, then a state snapshot) is reported once.
	seen map[string]bool
}

func newRefusals(max int) refusals {
	return refusals{ring: make([]Refusal, 0, max), seen: make(map[string]bool)}
}

// record keeps r and reports whether it is new.
func (rs *refusals) record(r Refusal) bool {
	if r.EventID != "" && rs.seen[r.EventID] {
		return false
	}
	rs.total++
	if len(rs.ring) < cap(rs.ring) {
		rs.ring = append(rs.ring, r)
	} else {
		delete(rs.seen, rs.ring[rs.next].EventID)
		rs.ring[rs.next] = r
		rs.next = (rs.next + 1) % len(rs.ring)
	}
	if r.EventID != "" {
		rs.seen[r.EventID] = true
	}
	return true
}

// list returns copies of the kept refusals, oldest first.
func (rs *refusals) list() []Refusal {
	out := make([]Refusal, 0, len(rs.ring))
	out = append(out, rs.ring[rs.next:]...)
	out = append(out, rs.ring[:rs.next]...)
	for i := range out {
		if kept := out[i].Kept; kept != nil {
			k := *kept
			out[i].Kept = &k
		}
	}
	return out
}
