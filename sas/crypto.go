package sas

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// Code is the short authentication string both sides show: seven emoji
// and three four-digit numbers, derived from the same six bytes.
type Code struct {
	Emoji    [7]Emoji
	Decimals [3]int
}

// String renders the code as a clinician compares it with Element's panel.
func (c Code) String() string {
	parts := make([]string, len(c.Emoji))
	for i, e := range c.Emoji {
		parts[i] = e.Symbol + " " + e.Name
	}
	return strings.Join(parts, ", ")
}

// codeFromBytes turns the six SAS bytes into emoji (the first 42 bits, six
// at a time) and decimals (the first 39 bits, thirteen at a time, plus 1000).
func codeFromBytes(b []byte) Code {
	var n uint64
	for _, x := range b[:6] {
		n = n<<8 | uint64(x)
	}
	var c Code
	for i := range c.Emoji {
		c.Emoji[i] = emojiTable[(n>>(48-6*(i+1)))&0x3f]
	}
	for i := range c.Decimals {
		c.Decimals[i] = int((n>>(48-13*(i+1)))&0x1fff) + 1000
	}
	return c
}

// sasBytes derives the six bytes of the code (curve25519-hkdf-sha256):
// the info string binds both parties, both ephemeral keys and the
// transaction, the starting party first.
func sasBytes(secret []byte, starter, accepter Party, starterKey, accepterKey []byte, txnID string) ([]byte, error) {
	info := strings.Join([]string{
		"MATRIX_KEY_VERIFICATION_SAS",
		starter.User.String(), starter.Device.String(), b64(starterKey),
		accepter.User.String(), accepter.Device.String(), b64(accepterKey),
		txnID,
	}, "|")
	out, err := hkdf.Key(sha256.New, secret, nil, info, 6)
	if err != nil {
		return nil, fmt.Errorf("derive SAS bytes: %w", err)
	}
	return out, nil
}

// mac computes the hkdf-hmac-sha256.v2 MAC of input, from sender to
// receiver, for the named key ID ("KEY_IDS" for the list of key IDs).
func mac(secret []byte, sender, receiver Party, txnID, keyID, input string) ([]byte, error) {
	info := "MATRIX_KEY_VERIFICATION_MAC" + sender.User.String() + sender.Device.String() +
		receiver.User.String() + receiver.Device.String() + txnID + keyID
	key, err := hkdf.Key(sha256.New, secret, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("derive MAC key: %w", err)
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(input))
	return h.Sum(nil), nil
}

// keyIDList is the sorted, comma-joined list of key IDs a MAC event covers.
func keyIDList(ids []string) string {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	return strings.Join(sorted, ",")
}

// commitment is what the accepting side commits to before seeing the
// starter's key: sha256 of its base64 public key followed by the canonical
// JSON of the start message.
func commitment(accepterKey, canonicalStart []byte) []byte {
	h := sha256.New()
	h.Write([]byte(b64(accepterKey)))
	h.Write(canonicalStart)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
