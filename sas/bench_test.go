package sas

import "testing"

// BenchmarkVerification is the bot's side of one whole emoji verification
// (ready, accept with commitment, key agreement and code, both MACs, done)
// with the member's side simulated; it bounds the CPU one costs the bot.
func BenchmarkVerification(b *testing.B) {
	t := &testing.T{}
	for b.Loop() {
		f, m := runToCode(t)
		if step := f.OnMAC(m.mac(honestKeys), memberKeys); step.Cancelled {
			b.Fatal(step.Reason)
		}
		if !f.OnDone().Verified {
			b.Fatal("not verified")
		}
	}
}
