package nhsnumber

import (
	"errors"
	"fmt"
	"strings"
)

// Why Normalize refused a number. The messages are written for the person
// who typed it and never repeat the number, so they are safe to log.
var (
	ErrNotDigits  = errors.New("not an NHS number: it may hold only digits, grouped 3-3-4 by spaces or dashes if at all")
	ErrLength     = errors.New("wrong length: an NHS number has 10 digits")
	ErrGrouping   = errors.New("wrong grouping: write the 10 digits together, or as 3-3-4 separated by single spaces or by single dashes")
	ErrCheckDigit = errors.New("check digit does not match: the number is mistyped or is not an NHS number")
)

// Normalize returns the 10 digits of an NHS number written as "9434765919",
// "943 476 5919" or "943-476-5919", with any surrounding white space. The
// error says why anything else is refused and wraps one of the Err values.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digits++
		case c == ' ' || c == '-':
		default:
			return "", ErrNotDigits
		}
	}
	if digits != Length {
		return "", fmt.Errorf("%w, this has %d", ErrLength, digits)
	}
	d, end, _, ok := read(s, 0, digitRunEnd(s, 0))
	if !ok || end != len(s) {
		return "", ErrGrouping
	}
	want, issuable := checkDigit(&d)
	if !issuable {
		return "", fmt.Errorf("%w (no NHS number begins with these nine digits)", ErrCheckDigit)
	}
	if d[Length-1]-'0' != want {
		return "", ErrCheckDigit
	}
	return string(d[:]), nil
}

// Valid reports whether s is an NHS number in a form Normalize accepts.
func Valid(s string) bool {
	_, err := Normalize(s)
	return err == nil
}
