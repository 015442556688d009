package nhsnumber

import (
	"strings"
	"testing"
)

func TestContainsAndCount(t *testing.T) {
	tests := []struct {
		name, text string
		count      int
	}{
		// Formats.
		{"alone, contiguous", "9434765919", 1},
		{"alone, spaces", "943 476 5919", 1},
		{"alone, dashes", "943-476-5919", 1},
		{"in a sentence", "Pt NHS no 943 476 5919 seen on ward 7", 1},
		{"after a colon", "NHS:9434765919", 1},
		{"in brackets", "Mrs X (943-476-5919) for review", 1},
		{"before a full stop", "Her number is 9434765919.", 1},
		{"after 'No.'", "NHS No.9434765919", 1},
		{"two, comma-separated", "9434765919,4010232137", 2},
		{"two, on their own lines", "9434765919\n401 023 2137\n", 2},
		{"same number twice", "9434765919 and again 943-476-5919", 2},
		{"check digit 0", "patient 4000000020 bed 12", 1},

		// Not NHS numbers.
		{"empty", "", 0},
		{"no digits", "Obs stable, for discharge tomorrow", 0},
		{"wrong check digit", "NHS no 9434765918", 0},
		{"remainder 10", "ref 1234567890", 0},
		{"nine digits", "943476591", 0},
		{"mixed separators", "943 476-5919", 0},
		{"double spaces", "943  476  5919", 0},
		{"grouped 3-4-3", "943 4765 919", 0},
		{"dots as separators", "943.476.5919", 0},

		// Longer runs of digits.
		{"inside a 14-digit run", "12345678901234 and 19434765919234", 0},
		{"one digit more after", "94347659191", 0},
		{"one digit more before", "19434765919", 0},
		{"phone number around a grouped window", "call +44 943 476 5919 1 now", 0},
		{"digit and space before", "+44 943 476 5919", 0},
		{"digit and space after", "943 476 5919 1", 0},
		{"digit and dash before", "2024-9434765919", 0},
		{"digit and dash after", "943-476-5919-1", 0},
		{"decimal", "p = 0.9434765919", 0},
		{"a bed number and a space before ten digits", "bed 4 9434765919", 1},
		{"a bed number before a dash-grouped number", "Bed 4 943-476-5919", 1},
		{"a bed number before a space-grouped number", "bed 4 943 476 5919", 1},
		{"a trunk prefix before a space-grouped number", "ring 0 943 476 5919", 0},
		{"a dialling code before ten digits", "+353 9434765919", 0},
		{"time and space before", "at 14:30 9434765919", 1},
		{"ten digits then a space and a digit", "9434765919 2 units", 1},
		{"international phone number (its last ten digits check out)", "daughter on +44 7700900124", 0},
		{"those ten digits alone would count", "ref 7700900124", 1},
		{"comma keeps it apart", "bed 4, 9434765919", 1},
		{"colon keeps it apart", "bed 4:9434765919", 1},
		{"grouped run longer on the left", "1943 476 5919", 0},
		{"grouped run longer on the right", "943 476 59190", 0},
		{"separator then letter is fine", "943 476 5919 a", 1},
		{"dash then letter is fine", "x-9434765919-y", 1},

		// Words, identifiers and URLs.
		{"glued to letters", "NHS9434765919", 0},
		{"glued to a letter after", "9434765919x", 0},
		{"underscore", "id_9434765919", 0},
		{"underscore after", "9434765919_id", 0},
		{"markdown emphasis", "Pt _9434765919_ seen", 1},
		{"markdown strong", "__943 476 5919__", 1},
		{"emphasis at one end only", "_9434765919", 1},
		{"underscores joining words", "ward_7_9434765919_x", 0},
		{"emphasis then a digit beyond", "_9434765919_5", 0},
		{"in a Matrix event ID", "$9434765919abcDEF_ghi", 0},
		{"in a hash", "sha a9434765919f", 0},
		{"URL path segment", "https://epr.example.nhs.uk/patient/9434765919/summary", 1},
		{"URL query", "https://epr.example.nhs.uk/find?nhs=9434765919&x=1", 1},
		{"URL with a longer id", "https://matrix.to/#/!room:example.org/$1234567890123", 0},
		{"URL fragment glued to letters", "https://x.example/#p9434765919", 0},

		// Unicode around.
		{"em dash and degree", "temp 38.2°C—9434765919—review", 1},
		{"accented letters apart", "café 9434765919 né", 1},
		{"accented letter glued", "é9434765919", 0},
		{"CJK glued", "患者9434765919", 0},
		{"CJK apart", "患者 9434765919 様", 1},
		{"emoji around", "🩺9434765919🩺", 1},
		{"Arabic-Indic digit glued", "٣9434765919", 0},
		{"non-breaking space grouping is not accepted", "943\u00a0476\u00a05919", 0},
		{"non-breaking space apart", "no\u00a09434765919", 1},
		{"invalid UTF-8 around", "\xff9434765919\xfe", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Count(tt.text); got != tt.count {
				t.Errorf("Count(%q) = %d, want %d", tt.text, got, tt.count)
			}
			if got := Contains(tt.text); got != (tt.count > 0) {
				t.Errorf("Contains(%q) = %v, want %v", tt.text, got, tt.count > 0)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no numbers here", "no numbers here"},
		{"NHS 943 476 5919.", "NHS [NHS number]."},
		{"9434765919,401-023-2137", "[NHS number],[NHS number]"},
		{"+44 943 476 5919 1 stays", "+44 943 476 5919 1 stays"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, "[NHS number]"); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The scan runs on every message: it must not allocate.
func TestScanDoesNotAllocate(t *testing.T) {
	text := strings.Repeat("Obs 12:30 BP 120/80, HR 72. NHS 943 476 5919; call 07700 900123. ", 50)
	if n := testing.AllocsPerRun(100, func() {
		Contains(text)
		Count(text)
		Redact("nothing to hide", "x")
	}); n != 0 {
		t.Errorf("scan allocated %.0f times per run", n)
	}
}

// Found by FuzzScan: masking the second number left the first standing
// alone, so the redacted text still held an NHS number.
func TestRedactLeavesNoNumber(t *testing.T) {
	for in, want := range map[string]string{
		"943 476 5919 9434765919": "[NHS number] [NHS number]",
		"943 476 5919 1":          "943 476 5919 1",
	} {
		got := Redact(in, "[NHS number]")
		if got != want || Contains(got) {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
