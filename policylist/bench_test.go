package policylist

import (
	"encoding/json"
	"fmt"
	"testing"
)

// benchTrusts are the servers whose bots publish in the benchmarks: a
// regional federation of a dozen trusts.
var benchTrusts = func() map[string]string {
	bots := map[string]string{}
	for i := range 12 {
		server := fmt.Sprintf("trust-%02d.nhs.uk", i)
		bots["@caldicott:"+server] = server
	}
	return bots
}()

// leaverEvents builds n user ban rules as the trusts' bots publish them,
// spread over the trusts; one in a hundred is a glob over a family of
// accounts, the rest name one person.
func leaverEvents(n int) []Event {
	events := make([]Event, 0, n)
	for i := range n {
		server := fmt.Sprintf("trust-%02d.nhs.uk", i%12)
		entity := fmt.Sprintf("@staff.%06d:%s", i, server)
		if (i/12)%100 == 99 {
			entity = fmt.Sprintf("@locum.%04d*:%s", i, server)
		}
		content, _ := json.Marshal(map[string]string{"entity": entity, "recommendation": "m.ban", "reason": "left the trust (ESR leaver feed)"})
		events = append(events, Event{
			Type: TypeUserRule, StateKey: "rule:" + entity, Sender: "@caldicott:" + server,
			EventID: fmt.Sprintf("$leaver%06d", i), Content: content,
		})
	}
	return events
}

func loadedList(b *testing.B, events []Event) *List {
	l, err := New(Authority{Bots: benchTrusts}, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range events {
		if c := l.Apply(e); c.Added == nil {
			b.Fatalf("%s not added: %+v", e.EventID, c.Refused)
		}
	}
	return l
}

// BenchmarkLoad10000UserRules is a bot starting up and reading the list
// room's state. Target (issue 10): under 2 s.
func BenchmarkLoad10000UserRules(b *testing.B) {
	events := leaverEvents(10_000)
	b.ReportAllocs()
	for b.Loop() {
		loadedList(b, events)
	}
}

// BenchmarkMatchJoin is the question every join asks, against 10,000 user
// rules (about 100 of them globs, 8 or 9 per trust). Target: microseconds.
func BenchmarkMatchJoin(b *testing.B) {
	l := loadedList(b, leaverEvents(10_000))
	for _, bc := range []struct{ name, user string }{
		{"not banned", "@registrar:trust-03.nhs.uk"},
		{"banned by name", "@staff.004203:trust-03.nhs.uk"},
		{"not banned, shares a glob's stem", "@locum.0001:trust-11.nhs.uk"},
		{"banned by glob", "@locum.1199x:trust-11.nhs.uk"},
		{"outside server", "@someone:outside.example"},
	} {
		b.Run("Banned/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Banned(bc.user)
			}
		})
		b.Run("MatchUser/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.MatchUser(bc.user)
			}
		})
	}
}

// BenchmarkApplyLeaver is one leaver published while the list holds 10,000
// rules: the event-driven path from trust B's bot to trust A's decision.
func BenchmarkApplyLeaver(b *testing.B) {
	l := loadedList(b, leaverEvents(10_000))
	on := userBanAt("@caldicott:trust-05.nhs.uk", "rule:new", "@new.leaver:trust-05.nhs.uk")
	off := Event{Type: TypeUserRule, StateKey: "rule:new", Sender: "@caldicott:trust-05.nhs.uk", Content: json.RawMessage(`{}`)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		on.EventID, off.EventID = fmt.Sprintf("$on%d", i), fmt.Sprintf("$off%d", i)
		l.Apply(on)
		l.Apply(off)
	}
}
