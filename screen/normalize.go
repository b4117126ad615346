// Package screen matches vessels, organizations and persons against the
// merged sanctions entities: identifiers first (IMO, MMSI, call sign), then
// names folded for the ways DPRK names are written differently (spacing,
// McCune-Reischauer vs Revised Romanization, vessel prefixes, typos), with
// numbers in vessel names treated as identity. Every result explains itself.
package screen

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRune maps accented Latin letters to ASCII (McCune-Reischauer's
// breves included: Ŏ -> O, Ŭ -> U). Letters outside the table are kept.
var foldTable = map[rune]string{
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Ā': "A", 'Ă': "A", 'Ą': "A", 'Æ': "AE",
	'Ç': "C", 'Ć': "C", 'Č': "C", 'Ď': "D", 'Đ': "D", 'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ē': "E", 'Ĕ': "E", 'Ė': "E", 'Ę': "E", 'Ě': "E",
	'Ğ': "G", 'Ģ': "G", 'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I", 'Ī': "I", 'Ĭ': "I", 'İ': "I", 'Ł': "L", 'Ľ': "L",
	'Ñ': "N", 'Ń': "N", 'Ň': "N", 'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O", 'Ō': "O", 'Ŏ': "O", 'Ő': "O", 'Œ': "OE",
	'Ř': "R", 'Ś': "S", 'Š': "S", 'Ş': "S", 'Ș': "S", 'Ť': "T", 'Ţ': "T", 'Ț': "T", 'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ū': "U", 'Ŭ': "U", 'Ů': "U", 'Ű': "U",
	'Ý': "Y", 'Ÿ': "Y", 'Ź': "Z", 'Ż': "Z", 'Ž': "Z", 'ß': "SS",
}

// upperASCII folds case and accents and turns every other non-alphanumeric
// character into a space. Apostrophes vanish (MR's aspiration mark:
// "Ch'ŏn" -> "CHON"); a letter-digit boundary becomes a space, so
// "NAMSAN8" reads as "NAMSAN 8".
func upperASCII(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prev := byte(' ')
	emit := func(c byte) {
		if c != ' ' && prev != ' ' && isDigit(c) != isDigit(prev) {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
		prev = c
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			c := byte(r)
			switch {
			case c >= 'a' && c <= 'z':
				emit(c - 32)
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				emit(c)
			case c == '\'' || c == '`':
				// aspiration marks and possessives join their word
			default:
				if prev != ' ' {
					b.WriteByte(' ')
					prev = ' '
				}
			}
		case r == '’' || r == 'ʼ' || r == 'ʻ' || r == '‘':
		default:
			u := unicode.ToUpper(r)
			if f, ok := foldTable[u]; ok {
				for i := 0; i < len(f); i++ {
					emit(f[i])
				}
			} else if unicode.IsLetter(u) || unicode.IsDigit(u) {
				for _, c := range []byte(string(u)) {
					emit(c)
				}
			} else if prev != ' ' {
				b.WriteByte(' ')
				prev = ' '
			}
		}
	}
	return strings.TrimSpace(b.String())
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// romanKey folds a word so that the romanisations of Korean syllables
// meet: McCune-Reischauer and Revised Romanization, with or without breves
// and apostrophes (Chon/Cheon/Jon, Jong/Chong, Kum/Geum, Phyong/Pyong,
// Ryong/Ryeong/Yong, Sin/Shin, Pak/Bak, Tong/Dong, Ri/Li). Voiced and
// voiceless stops meet (G/K, D/T, B/P, J/CH), aspiration marks go (PH, TH,
// KH), R and L meet, and RY/LY/NY fold to Y; EO -> O, EU -> U, OO -> U.
// The rules apply anywhere in the word, not only at its start, so a name
// folds the same whether it is written as one word or several (CHONGCHONGANG,
// CHONG CHON GANG). The key is for comparison only and never shown. It is
// applied to every name the same way on both sides, so it can only make
// unrelated names meet, which the evaluation in docs/screening.md measures.
func romanKey(w string) string {
	if w == "" || isDigit(w[0]) {
		return w
	}
	out := make([]byte, 0, len(w))
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
	return string(out)
}
