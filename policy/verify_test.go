package policy

import "testing"

func TestVerify(t *testing.T) {
	good := KeyFacts{MasterKey: "MASTER", SelfSigningValid: true, Devices: []DeviceFact{{"PHONE", true}, {"LAPTOP", true}}}
	attested := &Attestation{MasterKey: "MASTER", By: "@ig:a", Method: "in person"}
	tests := []struct {
		name string
		k    KeyFacts
		a    *Attestation
		want VerificationStatus
	}{
		{"verified", good, attested, Verified},
		{"no keys at all", KeyFacts{}, nil, NoCrossSigning},
		{"master without valid self-signing key", KeyFacts{MasterKey: "MASTER"}, attested, NoCrossSigning},
		{"not attested", good, nil, NotAttested},
		{"unsigned device", KeyFacts{MasterKey: "MASTER", SelfSigningValid: true, Devices: []DeviceFact{{"PHONE", true}, {"NEW", false}}}, attested, UnsignedDevice},
		{"identity reset", KeyFacts{MasterKey: "OTHER", SelfSigningValid: true, Devices: good.Devices}, attested, IdentityChanged},
		{"identity reset beats unsigned devices", KeyFacts{MasterKey: "OTHER", SelfSigningValid: true, Devices: []DeviceFact{{"X", false}}}, attested, IdentityChanged},
	}
	for _, tt := range tests {
		v := Verify(tt.k, tt.a)
		if v.Status != tt.want || v.Explain == "" {
			t.Errorf("%s: %+v, want %s", tt.name, v, tt.want)
		}
	}
	if v := Verify(KeyFacts{MasterKey: "MASTER", SelfSigningValid: true, Devices: []DeviceFact{{"NEW", false}}}, attested); len(v.UnsignedDevices) != 1 || v.UnsignedDevices[0] != "NEW" {
		t.Errorf("unsigned devices = %v", v.UnsignedDevices)
	}
	if got := Fingerprint("abcdefghij"); got != "abcd efgh ij" {
		t.Errorf("Fingerprint = %q", got)
	}
}

// BenchmarkVerify: the decision per member, keys already checked and cached.
// Target (issue 4, with cached keys): under 100 µs.
func BenchmarkVerify(b *testing.B) {
	k := KeyFacts{MasterKey: "MASTER", SelfSigningValid: true, Devices: []DeviceFact{{"PHONE", true}, {"LAPTOP", true}, {"WEB", true}}}
	a := &Attestation{MasterKey: "MASTER", By: "@ig:a", Method: "in person"}
	b.ReportAllocs()
	for b.Loop() {
		if Verify(k, a).Status != Verified {
			b.Fatal("not verified")
		}
	}
}
