// Package lookalike reduces a person's name to a key that two names share
// when a reader could mistake one for the other: case, spacing,
// punctuation, accents, invisible characters, Cyrillic and Greek letters
// that look Latin, digits written for letters and a leading title ("Dr")
// make no difference.
//
// The policy rules compare keys to spot a display name that imitates
// someone else; the store indexes the staff directory by key so that
// comparison needs one lookup. It is pure: it must never import anything
// but the standard library and golang.org/x/text, nor any Caldicott
// package. Changing what Key returns changes the keys the store has saved:
// such a change needs a store upgrade that recomputes them.
package lookalike

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Key is name reduced to what a reader sees: the words of Words after any
// leading titles, run together. Names with the same key look alike. It is
// "" for a name with no letters or digits, or only titles.
func Key(name string) string {
	var b strings.Builder
	leading := true
	eachWord(name, func(w []byte) {
		if leading && titles[string(w)] {
			return
		}
		leading = false
		b.Write(w)
	})
	return b.String()
}

// Words splits name into its words, each folded to the letters it looks
// like: "Dr Аlice-Sm1th" (with a Cyrillic А) is dr, allce, smlth. Capital I
// and l look alike in most fonts, so every i becomes l.
func Words(name string) []string {
	var words []string
	eachWord(name, func(w []byte) { words = append(words, string(w)) })
	return words
}

// eachWord calls fn with each folded word of name, in a buffer fn must not keep.
func eachWord(name string, fn func(word []byte)) {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			name = norm.NFKD.String(name)
			break
		}
	}
	var buf [64]byte
	w := buf[:0]
	flush := func() {
		if len(w) > 0 {
			fn(joinPairs(w))
			w = w[:0]
		}
	}
	for _, r := range name {
		if r < utf8.RuneSelf {
			if c := asciiFold[r]; c != 0 {
				w = append(w, c)
			} else {
				flush()
			}
			continue
		}
		lower := unicode.ToLower(r)
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
			// Accents (split off by NFKD) and invisible characters.
		case letterLike[r] != "":
			w = append(w, letterLike[r]...)
		case letterLike[lower] != "":
			w = append(w, letterLike[lower]...)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			w = utf8.AppendRune(w, lower)
		default:
			flush()
		}
	}
	flush()
}

// joinPairs folds, in place, letter pairs that read as one letter: rn as m,
// vv as w.
func joinPairs(w []byte) []byte {
	out := w[:0]
	for i := 0; i < len(w); i++ {
		switch {
		case i+1 < len(w) && w[i] == 'r' && w[i+1] == 'n':
			out = append(out, 'm')
			i++
		case i+1 < len(w) && w[i] == 'v' && w[i+1] == 'v':
			out = append(out, 'w')
			i++
		default:
			out = append(out, w[i])
		}
	}
	return out
}

// asciiFold maps each ASCII character to the lower-case letter it looks
// like, or 0 for a separator. Digits and symbols written for letters become
// those letters, and i becomes l: capital I and l look alike in most fonts.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := byte('a'); c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = c, c
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for from, to := range map[byte]byte{
		'i': 'l', 'I': 'l', '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
		'@': 'a', '$': 's', '|': 'l', '!': 'l',
	} {
		t[from] = to
	}
	return t
}()

// letterLike maps letters of other scripts to the Latin letters they look
// like, folded as asciiFold folds them (i as l).
var letterLike = map[rune]string{
	// Cyrillic
	'А': "a", 'а': "a", 'В': "b", 'ь': "b", 'С': "c", 'с': "c", 'ԁ': "d",
	'Е': "e", 'е': "e", 'Н': "h", 'һ': "h", 'І': "l", 'і': "l", 'Ӏ': "l", 'ӏ': "l",
	'Ј': "j", 'ј': "j", 'К': "k", 'к': "k", 'М': "m", 'п': "n", 'О': "o", 'о': "o",
	'Р': "p", 'р': "p", 'Ԛ': "q", 'ԛ': "q", 'г': "r", 'Ѕ': "s", 'ѕ': "s", 'Т': "t",
	'Ԝ': "w", 'ԝ': "w", 'Х': "x", 'х': "x", 'У': "y", 'у': "y", 'Ү': "y",
	// Greek
	'Α': "a", 'α': "a", 'Β': "b", 'Ε': "e", 'ε': "e", 'Ζ': "z", 'Η': "h", 'η': "n",
	'Ι': "l", 'ι': "l", 'Κ': "k", 'κ': "k", 'Μ': "m", 'μ': "u", 'Ν': "n", 'ν': "v",
	'Ο': "o", 'ο': "o", 'Ρ': "p", 'ρ': "p", 'Τ': "t", 'τ': "t", 'Υ': "y", 'υ': "u",
	'Χ': "x", 'χ': "x", 'γ': "y", 'ω': "w",
	// Armenian
	'օ': "o", 'ս': "u", 'հ': "h", 'ո': "n", 'ց': "g",
	// Latin letters NFKD leaves whole
	'ı': "l", 'ȷ': "j", 'ł': "l", 'Ł': "l", 'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d",
	'ħ': "h", 'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ɑ': "a",
	'ɡ': "g", 'ɩ': "l", 'ʟ': "l",
}

// titles are the words a name may start with that do not tell people apart,
// folded.
var titles = func() map[string]bool {
	out := map[string]bool{}
	for _, t := range []string{"dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "miss", "mx", "sir", "dame", "rev", "sister"} {
		eachWord(t, func(w []byte) { out[string(w)] = true })
	}
	return out
}()
