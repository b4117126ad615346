package names

// Hangul syllables are romanised in the Revised Romanization of Korean
// (2000), letter by letter per syllable, without the sound-change rules
// between syllables: RomanKey then folds it with the McCune-Reischauer
// spellings the sanctions lists use (천마산 -> CHEONMASAN -> JONMASAN, as
// CHON MA SAN).

const (
	hangulFirst = 0xAC00
	hangulLast  = 0xD7A3
)

var (
	hangulInitials = [19]string{"G", "KK", "N", "D", "TT", "R", "M", "B", "PP", "S", "SS", "", "J", "JJ", "CH", "K", "T", "P", "H"}
	hangulMedials  = [21]string{"A", "AE", "YA", "YAE", "EO", "E", "YEO", "YE", "O", "WA", "WAE", "OE", "YO", "U", "WO", "WE", "WI", "YU", "EU", "UI", "I"}
	hangulFinals   = [28]string{"", "K", "K", "K", "N", "N", "N", "T", "L", "K", "M", "L", "L", "L", "P", "L", "M", "P", "P", "T", "T", "NG", "T", "T", "K", "T", "P", "T"}
)

func isHangulSyllable(r rune) bool { return r >= hangulFirst && r <= hangulLast }

// romaniseSyllable spells one precomposed Hangul syllable in capitals.
func romaniseSyllable(r rune) string {
	n := int(r - hangulFirst)
	fin := n % 28
	med := (n / 28) % 21
	ini := n / (28 * 21)
	return hangulInitials[ini] + hangulMedials[med] + hangulFinals[fin]
}
