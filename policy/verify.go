package policy

import "fmt"

// KeyFacts is what the cryptographic checks of a member's published keys
// found. Anything that failed a check is reported as absent or unsigned,
// never as verified.
type KeyFacts struct {
	// MasterKey is the ed25519 master key (unpadded base64); "" if none or invalid.
	MasterKey string
	// SelfSigningValid: a self-signing key exists and is signed by the master key.
	SelfSigningValid bool
	// Devices lists the member's devices and whether each is signed by the
	// (valid) self-signing key.
	Devices []DeviceFact
	// Problems are the checks that failed, for the log and for explanations.
	Problems []string
}

// DeviceFact is one device of a member.
type DeviceFact struct {
	DeviceID string
	Signed   bool
}

// Attestation is a trust's confirmation of a member's identity: their
// master key, checked in person or by emoji verification with the bot.
type Attestation struct {
	MasterKey string
	By        string
	Method    string
}

// VerificationStatus is a member's standing for clinical rooms.
type VerificationStatus string

// Verification statuses, worst first.
const (
	NoCrossSigning   VerificationStatus = "no_cross_signing"
	IdentityChanged  VerificationStatus = "identity_changed"
	UnsignedDevice   VerificationStatus = "unsigned_device"
	NotAttested      VerificationStatus = "not_attested"
	Verified         VerificationStatus = "verified"
	VerificationNone VerificationStatus = ""
)

// Verification is a member's status with what they must do about it.
type Verification struct {
	Status VerificationStatus
	// Explain says, for the member, what is wrong and what to do.
	Explain string
	// UnsignedDevices lists devices not signed by the self-signing key.
	UnsignedDevices []string
}

// Verify decides a member's verification status from checked key facts and
// the trust's attestation (nil when none). An attestation of a different
// master key means the identity was reset: the most serious finding short
// of having no identity at all.
func Verify(k KeyFacts, a *Attestation) Verification {
	if k.MasterKey == "" || !k.SelfSigningValid {
		return Verification{Status: NoCrossSigning, Explain: "Cross-signing is not set up (or its keys are invalid). In Element: Settings → Security & Privacy → Set up cross-signing (\"Set up Secure Backup\")."}
	}
	if a != nil && a.MasterKey != k.MasterKey {
		return Verification{Status: IdentityChanged, Explain: fmt.Sprintf("Their identity (master key) has changed since %s confirmed it. Until it is confirmed again they must be treated as someone else: they should verify again with their trust's Caldicott (`!policy verify`, comparing emoji) or with their trust's IG team in person.", a.By)}
	}
	var unsigned []string
	for _, d := range k.Devices {
		if !d.Signed {
			unsigned = append(unsigned, d.DeviceID)
		}
	}
	if len(unsigned) > 0 {
		return Verification{Status: UnsignedDevice, UnsignedDevices: unsigned, Explain: fmt.Sprintf("%d device(s) are not verified: %v. Verify each new device from one already verified (Element shows a prompt), or sign it out.", len(unsigned), unsigned)}
	}
	if a == nil {
		return Verification{Status: NotAttested, Explain: "Their identity has not been confirmed by their trust yet: they should type `!policy verify` and compare emoji with their trust's Caldicott, or show their identity fingerprint (Element: Settings → Security & Privacy) to their trust's IG team in person."}
	}
	return Verification{Status: Verified, Explain: fmt.Sprintf("Verified: identity confirmed by %s (%s), every device signed.", a.By, a.Method)}
}

// Fingerprint formats a master key as Element shows it: groups of four.
func Fingerprint(key string) string {
	out := make([]byte, 0, len(key)+len(key)/4)
	for i := 0; i < len(key); i++ {
		if i > 0 && i%4 == 0 {
			out = append(out, ' ')
		}
		out = append(out, key[i])
	}
	return string(out)
}
