package names

// LooksKorean reports whether every word can be Korean written in Latin
// letters: a run of syllables of McCune-Reischauer or the Revised
// Romanization (without breves and apostrophes, as Fold leaves them), each
// an optional initial consonant (K, KK, G, N, D, T, TT, R, L, M, B, P,
// PP, S, SS, SH, J, JJ, CH, TCH, H, and the aspirated PH, TH, KH), a vowel
// (A, AE, YA, YAE, EO, E, YEO, YE, O, WA, WAE, OE, OI, YO, U, WO, WEO, WE,
// WI, YU, EU, UI, I, OO) and an optional final (K, N, NG, L, M, P, T).
// Spellings as the DPRK writes them need not follow the sound changes
// between syllables (MOKRAN, not MONGNAN), so any initial may follow any
// final, and some Western words can be Korean too (PATRIOT as PAT RI OT,
// BELLA). KUMGANG, CHONGCHONGANG, RYONG, SHIN and KOREA can be; GOLD,
// STAR, VICTORY and the acronym PAD cannot. Words must be Fold output (upper-case ASCII);
// an empty list is not Korean.
func LooksKorean(words []string) bool {
	if len(words) == 0 {
		return false
	}
	for _, w := range words {
		if !syllables(w) {
			return false
		}
	}
	return true
}

var (
	koInitials = []string{"TCH", "KK", "TT", "PP", "SS", "SH", "JJ", "CH", "PH", "TH", "KH", "K", "G", "N", "D", "T", "R", "L", "M", "B", "P", "S", "J", "H", ""}
	koVowels   = []string{"YAE", "YEO", "WAE", "WEO", "YA", "AE", "EO", "YE", "WA", "OE", "OI", "YO", "WO", "WE", "WI", "YU", "EU", "UI", "OO", "A", "E", "O", "U", "I"}
	koFinals   = []string{"NG", "K", "N", "L", "M", "P", "T", ""}
)

// syllables says whether w splits into romanised Korean syllables.
func syllables(w string) bool {
	if w == "" || len(w) > 64 {
		return false
	}
	var reach [65]bool
	reach[0] = true
	for i := 0; i < len(w); i++ {
		if !reach[i] {
			continue
		}
		for _, in := range koInitials {
			if !hasAt(w, i, in) {
				continue
			}
			j := i + len(in)
			for _, v := range koVowels {
				if !hasAt(w, j, v) {
					continue
				}
				k := j + len(v)
				for _, f := range koFinals {
					if hasAt(w, k, f) {
						reach[k+len(f)] = true
					}
				}
			}
		}
	}
	return reach[len(w)]
}

func hasAt(w string, i int, s string) bool {
	return len(w)-i >= len(s) && w[i:i+len(s)] == s
}
