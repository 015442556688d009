package policy

import "testing"

// BenchmarkProtectCompliant is the common case: a state event in a
// compliant clinical room. Target: under 20 µs per event.
func BenchmarkProtectCompliant(b *testing.B) {
	f := hardened()
	b.ReportAllocs()
	for b.Loop() {
		_ = Protect(f, req, Cause{Kind: CauseDrift, Sender: "@m:a", EventType: "m.room.join_rules"})
	}
}

// BenchmarkProtectDrift is the worst case: every protection removed.
func BenchmarkProtectDrift(b *testing.B) {
	f := hardened()
	f.JoinRule, f.GuestAccess, f.HistoryVisibility, f.EncryptionAlgorithm, f.ServerACL = "public", "can_join", "shared", "", nil
	b.ReportAllocs()
	for b.Loop() {
		_ = Protect(f, req, Cause{Kind: CauseDrift, Sender: "@m:a", EventType: "m.room.join_rules"})
	}
}

func BenchmarkParseCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseCommand("!policy classify clinical", "@caldicott:trust-a.nhs.uk", "Caldicott")
	}
}
