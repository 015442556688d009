package adminauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// tokenPrefix marks Caldicott's admin tokens, so a leaked one is
// recognisable (secret scanners, logs).
const tokenPrefix = "cdt_"

// codeAlphabet has no 0/O, 1/I/L: a code read off a phone is typed right.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// codeLength is a sign-in code's length: 10 of 31 symbols, about 50 bits.
const codeLength = 10

// newSecret is 32 random bytes, URL-safe base64.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newCode is a random sign-in code, as shown: two groups of five.
func newCode() string {
	b := make([]byte, codeLength)
	for i := range b {
		b[i] = codeAlphabet[randIntn(len(codeAlphabet))]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

// randIntn is uniform in [0, n) (rejection sampling, no modulo bias).
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// normalCode is a typed code as it was made: upper case, no spaces or dashes.
func normalCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// hashOf is the SHA-256 (hex) of parts under a purpose, so a value hashed
// for one use (a session's row) never equals one derived for another (its
// CSRF token).
func hashOf(purpose string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte("caldicott-admin\x00" + purpose))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// same compares two secrets in constant time.
func same(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
