package screen

import (
	"sort"
	"strings"

	"github.com/tidewatch/tidewatch/sanctions"
)

// nameKey is a name prepared for comparison.
type nameKey struct {
	words   []string // folded words, numbers, prefixes and legal forms removed
	numbers string   // the name's numbers in order ("6", "1 2"); they are identity
	joined  string   // words concatenated: CHON MA SAN and CHONMASAN meet
	raw     string   // the same, before romanisation folding (for typo distance)
	sorted  string   // words sorted then concatenated: word order ignored
	legal   bool     // a legal-form word was removed
}

// vesselPrefixes are words that type a ship rather than name it; they are
// dropped from the start of vessel names ("M/V", "MT", "M.T.", "SS").
var vesselPrefixes = map[string]bool{"MV": true, "MT": true, "SS": true, "MS": true, "MY": true, "FV": true, "RV": true, "TS": true}

// legalForms are words that say what kind of company, not which company.
var legalForms = map[string]bool{
	"CO": true, "LTD": true, "LIMITED": true, "COMPANY": true, "CORP": true, "CORPORATION": true, "INC": true,
	"INCORPORATED": true, "LLC": true, "JSC": true, "OJSC": true, "PJSC": true, "CJSC": true, "OOO": true, "ZAO": true,
	"OAO": true, "PAO": true, "AO": true, "PLC": true, "GMBH": true, "AG": true, "SA": true, "SARL": true, "BV": true, "NV": true,
	"PTE": true, "PTY": true, "SDN": true, "BHD": true, "SRL": true, "SPA": true, "LLP": true, "LP": true, "FZE": true,
	"FZCO": true, "DMCC": true, "THE": true, "AND": true, "OF": true, "CC": true, "KK": true,
}

// foldedLegal holds the legal forms as romanKey folds them.
var foldedLegal = func() map[string]bool {
	m := map[string]bool{}
	for w := range legalForms {
		m[romanKey(w)] = true
	}
	return m
}()

// isLegalForm recognises a folded legal-form word, and a long one with a
// typo in it (CORPOXATION).
func isLegalForm(f string) bool {
	if foldedLegal[f] {
		return true
	}
	if len(f) < 6 {
		return false
	}
	for _, w := range longLegal {
		if d := len(f) - len(w); d >= -2 && d <= 2 && levSim(f, w) >= 0.8 {
			return true
		}
	}
	return false
}

// longLegal are the folded legal forms long enough to recognise with a typo.
var longLegal = func() []string {
	var out []string
	for w := range foldedLegal {
		if len(w) >= 6 {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}()

// abbreviations expand the shortenings lists and registries use.
var abbreviations = map[string]string{
	"SHPG": "SHIPPING", "SHIPG": "SHIPPING", "INTL": "INTERNATIONAL", "INT'L": "INTERNATIONAL", "TRDG": "TRADING",
	"MGMT": "MANAGEMENT", "MGT": "MANAGEMENT", "MARIT": "MARITIME", "NAV": "NAVIGATION", "DEVT": "DEVELOPMENT",
	"DEV": "DEVELOPMENT", "IND": "INDUSTRIAL", "HLDGS": "HOLDINGS", "HLDG": "HOLDING", "ENT": "ENTERPRISE",
	"TECH": "TECHNOLOGY", "SVCS": "SERVICES", "SVC": "SERVICE", "BROS": "BROTHERS", "ASSN": "ASSOCIATION",
}

// keyFor prepares a name of an entity of type t.
func keyFor(name string, t sanctions.EntityType) nameKey {
	words := strings.Fields(upperASCII(name))
	var k nameKey
	var nums []string
	if t == sanctions.Vessel {
		// "M V" (from M/V), "M T", "M.T." and one-word prefixes.
		for len(words) > 1 {
			switch {
			case vesselPrefixes[words[0]]:
				words = words[1:]
				continue
			case len(words) > 2 && words[0] == "M" && (words[1] == "V" || words[1] == "T" || words[1] == "S" || words[1] == "Y"):
				words = words[2:]
				continue
			}
			break
		}
	}
	for _, w := range words {
		if isDigit(w[0]) {
			nums = append(nums, strings.TrimLeft(w, "0"))
			continue
		}
		if t != sanctions.Vessel && t != sanctions.Person {
			if full, ok := abbreviations[w]; ok {
				w = full
			}
		}
		f := romanKey(w)
		if t != sanctions.Vessel && t != sanctions.Person && isLegalForm(f) {
			k.legal = true
			continue
		}
		k.words = append(k.words, f)
		k.raw += w
	}
	k.numbers = strings.Join(nums, " ")
	k.joined = strings.Join(k.words, "")
	s := append([]string(nil), k.words...)
	sort.Strings(s)
	k.sorted = strings.Join(s, "")
	return k
}

// levSim is 1 - edit distance / longer length, in [0,1].
func levSim(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	// The length difference alone bounds the similarity; below one half
	// the score is discarded anyway, so skip the table.
	if d := la - lb; 2*max(d, -d) > max(la, lb) {
		return 0
	}
	if la > 64 || lb > 64 {
		a, b = a[:min(la, 64)], b[:min(lb, 64)]
		la, lb = len(a), len(b)
	}
	var prev, cur [65]int
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return 1 - float64(prev[lb])/float64(max(la, lb))
}

// trigrams returns the distinct trigrams of " "+s+" " as packed ints.
func trigrams(s string, dst []uint32) []uint32 {
	dst = dst[:0]
	p := " " + s + " "
	for i := 0; i+3 <= len(p); i++ {
		g := uint32(p[i])<<16 | uint32(p[i+1])<<8 | uint32(p[i+2])
		dup := false
		for _, x := range dst {
			if x == g {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, g)
		}
	}
	return dst
}
