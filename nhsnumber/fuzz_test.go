package nhsnumber

import (
	"strings"
	"testing"
)

// FuzzScan checks the free-text scan on any text: every number it reports
// is one Normalize accepts, Count and Contains agree with the spans, and
// Redact leaves no NHS number behind (it is what keeps them out of room
// names, topics and the reasons a patient record gives).
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"Pt NHS no 943 476 5919 seen on ward 7",
		"9434765919,4010232137",
		"call +44 943 476 5919 1 now",
		"bed 4 943-476-5919",
		"ring 0 943 476 5919",
		"943 476 5919 9434765919",
		"2024-9434765919",
		"NHS No.9434765919",
		"at 14:30 9434765919 ٣",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		spans := 0
		last := 0
		for start, end := next(text, 0); start >= 0; start, end = next(text, end) {
			if start < last || end <= start || end > len(text) {
				t.Fatalf("span [%d,%d) after %d in %q", start, end, last, text)
			}
			if _, err := Normalize(text[start:end]); err != nil {
				t.Fatalf("scan found %q in %q, which Normalize refuses: %v", text[start:end], text, err)
			}
			last = end
			spans++
		}
		if n := Count(text); n != spans {
			t.Fatalf("Count(%q) = %d, the scan found %d", text, n, spans)
		}
		if Contains(text) != (spans > 0) {
			t.Fatalf("Contains(%q) = %v with %d found", text, !(spans > 0), spans)
		}
		const mask = "[NHS number removed]"
		red := Redact(text, mask)
		if Contains(red) {
			t.Fatalf("Redact(%q) = %q still holds an NHS number", text, red)
		}
		if spans == 0 && red != text {
			t.Fatalf("Redact changed %q with nothing to redact: %q", text, red)
		}
		// At least the numbers found: taking them out can bare others.
		if got := strings.Count(red, mask) - strings.Count(text, mask); got < spans {
			t.Fatalf("Redact(%q) masked %d of %d numbers: %q", text, got, spans, red)
		}
	})
}

// FuzzNormalize checks that a number Normalize accepts is ten digits with
// a matching check digit, that normalising is idempotent, and that the
// scan finds the number written on its own.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"9434765919", " 943 476 5919 ", "943-476-5919", "943 476-5919", "1234567890", "4000000020", "94347659１9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if Valid(s) != (err == nil) {
			t.Fatalf("Valid(%q) disagrees with Normalize's %v", s, err)
		}
		if err != nil {
			if n != "" {
				t.Fatalf("Normalize(%q) returned %q with an error", s, n)
			}
			return
		}
		if len(n) != Length || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("Normalize(%q) = %q, not %d digits", s, n, Length)
		}
		if again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, %v; want itself", n, again, err)
		}
		if c := Count(strings.TrimSpace(s)); c != 1 {
			t.Fatalf("the scan finds %d numbers in %q, which Normalize accepts", c, s)
		}
	})
}
