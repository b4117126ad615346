// Package names prepares the names of ships, companies and people for
// comparison, the same way for the screening index, for screening queries
// and for joining list entries by name: Unicode compatibility forms folded
// (NFKC: full-width ＣＨＯＮ is CHON), Cyrillic and Greek letters that look
// Latin read as the Latin letter (СНОN is CHON), Hangul romanised (천마산 is
// CHEONMASAN), accents dropped, case folded, punctuation turned into
// spaces; then, per kind of name, vessel prefixes (M/V, MT), number
// markers (NO. 8, #8, N°8) and number words (ONE) read as numbers, legal
// forms (CO., LTD) set aside, abbreviations (SHPG) expanded, and Korean
// romanisation variants folded together (Chon/Cheon/Jon).
//
// The keys are for comparison only and never shown.
package names

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldTable maps Latin letters that do not decompose into a base letter and
// a mark (Æ, Ø, Ł, ß) to ASCII. Other accented letters are folded by
// canonical decomposition.
var foldTable = map[rune]string{
	'Æ': "AE", 'Đ': "D", 'Ð': "D", 'Ħ': "H", 'Ł': "L", 'Ŀ': "L", 'Ø': "O", 'Œ': "OE", 'ß': "SS", 'ẞ': "SS", 'Þ': "TH", 'Ŧ': "T",
}

// confusables maps upper-case Cyrillic and Greek letters that look like a
// Latin capital to that capital (after the Unicode confusables data,
// restricted to letters that look the same in capitals: Cyrillic С, Н, О,
// Greek Α, Ρ, ...). Applied to every name on both sides of a comparison, so
// a name typed with look-alike letters meets its Latin spelling and a name
// written in Cyrillic still meets itself.
var confusables = map[rune]byte{
	// Cyrillic
	'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O',
	'Р': 'P', 'Т': 'T', 'У': 'Y', 'Х': 'X', 'Ү': 'Y', 'Ԛ': 'Q', 'Ԝ': 'W', 'Ԁ': 'D', 'Ӏ': 'I',
	// Greek
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P',
	'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'Ϲ': 'C', 'Ϳ': 'J',
}

// Fold upper-cases a name to ASCII letters and digits separated by single
// spaces: compatibility forms folded (NFKC), look-alike Cyrillic and Greek
// capitals read as Latin, Hangul syllables romanised (Revised
// Romanization, syllables of one word run together), accents dropped.
// Apostrophes vanish (McCune-Reischauer's aspiration mark: "Ch'ŏn" ->
// "CHON"); every other character that is not a letter or a digit becomes a
// space; a letter-digit boundary becomes a space ("NAMSAN8" -> "NAMSAN 8").
// Letters of other scripts (Chinese, Arabic, genuine Cyrillic) are kept,
// upper-cased, as UTF-8.
func Fold(s string) string {
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := byte(' ')
	emit := func(c byte) {
		if c != ' ' && prev != ' ' && isDigit(c) != isDigit(prev) && (c < utf8.RuneSelf) && (prev < utf8.RuneSelf) {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
		prev = c
	}
	space := func() {
		if prev != ' ' {
			b.WriteByte(' ')
			prev = ' '
		}
	}
	emitString := func(s string) {
		for i := 0; i < len(s); i++ {
			emit(s[i])
		}
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			c := byte(r)
			switch {
			case c >= 'a' && c <= 'z':
				emit(c - 32)
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				emit(c)
			case c == '\'' || c == '`':
				// aspiration marks and possessives join their word
			default:
				space()
			}
			continue
		}
		switch {
		case r == '’' || r == 'ʼ' || r == 'ʻ' || r == '‘' || r == '´':
			continue
		case r == utf8.RuneError:
			space()
			continue
		case isHangulSyllable(r):
			emitString(romaniseSyllable(r))
			continue
		case unicode.Is(unicode.Mn, r):
			continue // a combining mark left over: part of its letter
		}
		u := unicode.ToUpper(r)
		if c, ok := confusables[u]; ok {
			emit(c)
			continue
		}
		if f, ok := foldTable[u]; ok {
			emitString(f)
			continue
		}
		if d := norm.NFD.String(string(u)); len(d) > 0 && d[0] < utf8.RuneSelf && isUpperASCII(d[0]) {
			emit(d[0]) // É -> E + combining acute: keep the base
			continue
		}
		if unicode.IsLetter(u) || unicode.IsDigit(u) {
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], u)
			// Non-ASCII letters never count as digits for the boundary rule.
			for _, c := range buf[:n] {
				b.WriteByte(c)
				prev = c
			}
			continue
		}
		space()
	}
	return strings.TrimSpace(b.String())
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isUpperASCII(c byte) bool { return c >= 'A' && c <= 'Z' }

// RomanKey folds a word so that the romanisations of Korean syllables
// meet: McCune-Reischauer and Revised Romanization, with or without breves
// and apostrophes (Chon/Cheon/Jon, Jong/Chong, Kum/Geum, Phyong/Pyong,
// Ryong/Ryeong/Yong, Sin/Shin, Pak/Bak, Tong/Dong, Ri/Li). Voiced and
// voiceless stops meet (G/K, D/T, B/P, J/CH), aspiration marks go (PH, TH,
// KH), R and L meet, and RY/LY/NY fold to Y; EO -> O, EU -> U, OO -> U.
// The rules apply anywhere in the word, not only at its start, so a name
// folds the same whether it is written as one word or several (CHONGCHONGANG,
// CHONG CHON GANG). It is applied to every name the same way on both sides,
// so it can only make unrelated names meet, which the evaluation in
// docs/screening.md measures. w must be Fold output.
func RomanKey(w string) string {
	if w == "" || isDigit(w[0]) {
		return w
	}
	return string(appendRomanKey(make([]byte, 0, len(w)), w))
}

// appendRomanKey appends RomanKey(w) to out.
func appendRomanKey(out []byte, w string) []byte {
	if w == "" || isDigit(w[0]) {
		return append(out, w...)
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		next := byte(0)
		if i+1 < len(w) {
			next = w[i+1]
		}
		switch {
		case c == 'C' && next == 'H':
			out = append(out, 'J')
			i++
		case (c == 'P' || c == 'T' || c == 'K' || c == 'S') && next == 'H':
			out = append(out, c)
			i++
		case (c == 'R' || c == 'L' || c == 'N') && next == 'Y':
			// Ryong, Lyong, Nyong -> Yong (initial sound rule)
		case c == 'E' && next == 'O':
			out = append(out, 'O')
			i++
		case c == 'E' && next == 'U':
			out = append(out, 'U')
			i++
		case c == 'O' && next == 'O':
			out = append(out, 'U')
			i++
		case c == 'G':
			out = append(out, 'K')
		case c == 'D':
			out = append(out, 'T')
		case c == 'B':
			out = append(out, 'P')
		case c == 'L':
			out = append(out, 'R')
		default:
			out = append(out, c)
		}
	}
	return out
}
