package nhsnumber

// Length is how many digits an NHS number has, check digit included.
const Length = 10

// checkDigit returns the check digit the first nine digits call for, or
// false when they call for 10: no number is issued with such a prefix.
// Digits are ASCII bytes; the caller has checked they are '0'–'9'.
func checkDigit(first9 *[Length]byte) (byte, bool) {
	sum := 0
	for i := 0; i < Length-1; i++ {
		sum += int(first9[i]-'0') * (Length - i)
	}
	switch check := 11 - sum%11; check {
	case 11:
		return 0, true
	case 10:
		return 0, false
	default:
		return byte(check), true
	}
}

// checks reports whether ten ASCII digits carry a matching check digit.
func checks(d *[Length]byte) bool {
	want, ok := checkDigit(d)
	return ok && d[Length-1]-'0' == want
}

func isDigit(c byte) bool { return c-'0' < 10 }
