package lookalike

import (
	"strings"
	"testing"
)

func TestKeyMatchesLookAlikes(t *testing.T) {
	tests := []struct {
		name, a, b string
	}{
		{"case", "Alice Smith", "alice SMITH"},
		{"spacing and punctuation", "Alice Smith", "  Alice.Smith "},
		{"no space", "Alice Smith", "AliceSmith"},
		{"hyphen", "Mary Smith-Jones", "Mary Smith Jones"},
		{"title", "Alice Smith", "Dr Alice Smith"},
		{"titles with stops", "Alice Smith", "Prof. Dr. Alice Smith"},
		{"accents", "Zoë Brontë", "Zoe Bronte"},
		{"Cyrillic a and e", "Alice Smith", "\u0410lic\u0435 Smith"},
		{"Cyrillic capitals", "Peter Hope", "\u0420\u0435t\u0435r \u041dope"},
		{"Greek capitals", "Tom Brook", "\u03a4\u03bfm \u0392r\u03bf\u03bfk"},
		{"capital I for l", "Alice Smith", "AIice Smith"},
		{"digits for letters", "Alice Smith", "A1ice 5mith"},
		{"zero for o", "Tom Brook", "T0m Br00k"},
		{"rn for m", "Emma Mann", "Ernrna Mann"},
		{"fullwidth", "Alice Smith", "\uff21\uff4c\uff49\uff43\uff45 Smith"},
		{"zero-width space", "Alice Smith", "Ali\u200bce Smith"},
		{"leet symbols", "Sam Ali", "$am @li"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ka, kb := Key(tt.a), Key(tt.b); ka != kb || ka == "" {
				t.Errorf("Key(%q) = %q, Key(%q) = %q; want equal", tt.a, ka, tt.b, kb)
			}
		})
	}
}

func TestKeyTellsDifferentNamesApart(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Alice Smith", "Alice Smyth"},
		{"Alice Smith", "Alice"},
		{"Bob Jones", "Rob Jones"},
		{"alice", "Alice Smith"},
		{"Dr Alice Smith", "Dr Bob Smith"},
	}
	for _, tt := range tests {
		if Key(tt.a) == Key(tt.b) {
			t.Errorf("Key(%q) = Key(%q) = %q; want different", tt.a, tt.b, Key(tt.a))
		}
	}
	for _, empty := range []string{"", "   ", "Dr", "Dr.", "—", "\u200b"} {
		if k := Key(empty); k != "" {
			t.Errorf("Key(%q) = %q, want empty", empty, k)
		}
	}
}

func TestWords(t *testing.T) {
	if got := strings.Join(Words("Dr \u0410lice-Sm1th (IG Admin)"), " "); got != "dr allce smlth lg admln" {
		t.Errorf("Words = %q", got)
	}
}

func BenchmarkKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Key("Dr \u0410lice Sm1th-Jones")
	}
}
