package nhsnumber

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"contiguous", "9434765919", "9434765919", nil},
		{"grouped by spaces", "943 476 5919", "9434765919", nil},
		{"grouped by dashes", "943-476-5919", "9434765919", nil},
		{"surrounding white space", " \t943 476 5919\n", "9434765919", nil},
		{"another valid number", "4010232137", "4010232137", nil},
		{"check digit 0 (11 - 0 = 11 → 0)", "4000000020", "4000000020", nil},
		{"all nines", "999 999 9999", "9999999999", nil},

		{"check digit off by one", "9434765918", "", ErrCheckDigit},
		{"transposed digits", "9434765991", "", ErrCheckDigit},
		{"check digit 0 expected, 1 given", "4000000021", "", ErrCheckDigit},
		{"remainder 10: no check digit can match", "1234567890", "", ErrCheckDigit},
		{"remainder 10, grouped", "400-000-0080", "", ErrCheckDigit},

		{"empty", "", "", ErrLength},
		{"only white space", "   ", "", ErrLength},
		{"nine digits", "943476591", "", ErrLength},
		{"eleven digits", "94347659190", "", ErrLength},
		{"grouped, one short", "943 476 591", "", ErrLength},

		{"letter", "943476591O", "", ErrNotDigits},
		{"dots", "943.476.5919", "", ErrNotDigits},
		{"plus sign", "+9434765919", "", ErrNotDigits},
		{"fullwidth digits", "９４３４７６５９１９", "", ErrNotDigits},
		{"tab inside", "943\t476\t5919", "", ErrNotDigits},

		{"mixed separators", "943 476-5919", "", ErrGrouping},
		{"double space", "943  476 5919", "", ErrGrouping},
		{"grouped 3-4-3", "943 4765 919", "", ErrGrouping},
		{"grouped 4-3-3", "9434 765 919", "", ErrGrouping},
		{"leading dash", "-9434765919", "", ErrGrouping},
		{"trailing dash", "9434765919-", "", ErrGrouping},
		{"space and dash together", "943 -476 -5919", "", ErrGrouping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("Normalize(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if Valid(tt.in) != (tt.err == nil) {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, !(tt.err == nil), tt.err == nil)
			}
			if err != nil {
				assertNoDigitsOf(t, err.Error(), tt.in)
			}
		})
	}
}

// assertNoDigitsOf fails if msg repeats any three digits in a row of input:
// an error about an NHS number must not carry the number into a log.
func assertNoDigitsOf(t *testing.T, msg, input string) {
	t.Helper()
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, input)
	for i := 0; i+3 <= len(digits); i++ {
		if strings.Contains(msg, digits[i:i+3]) {
			t.Errorf("error %q repeats digits %q of the number", msg, digits[i:i+3])
		}
	}
}
