package screen

import (
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
)

// romanVariant changes the first letter of name that romanisation folding
// makes meet another (L/R, D/T, G/K, B/P), not one of a digraph (PH, TH,
// KH): "" when none.
func romanVariant(name string) string {
	swap := map[byte]byte{'L': 'R', 'R': 'L', 'D': 'T', 'T': 'D', 'G': 'K', 'K': 'G', 'B': 'P', 'P': 'B'}
	for i := 0; i < len(name); i++ {
		if c, ok := swap[name[i]]; ok && (i+1 == len(name) || name[i+1] != 'H') {
			return name[:i] + string(c) + name[i+1:]
		}
	}
	return ""
}

// TestRomanisationOnlyForKoreanNames: a listed vessel name changed by one
// letter that Korean romanisation folding treats as the same (TALA as
// TARA) is the same name, at 1.000, only when the vessel's names may be
// Korean (sanctions.Entity.MayBeKorean); for any other vessel it is a
// different name, scored by its spelling. Before, every such variant of
// every listed vessel scored 1.000.
func TestRomanisationOnlyForKoreanNames(t *testing.T) {
	ix, ents := embeddedIndex(t)
	var korean, other, otherExact, otherMatch, koreanExact int
	var bad []string
	for _, e := range ents {
		if e.Type != sanctions.Vessel {
			continue
		}
		name := strings.ToUpper(e.Name)
		v := romanVariant(name)
		if v == "" || strings.ContainsAny(name, "0123456789") {
			continue
		}
		res, err := ix.Search(Query{Type: "vessel", Name: v}, Options{Limit: 3, All: true})
		if err != nil {
			t.Fatal(err)
		}
		score := 0.0
		for _, r := range res {
			if r.Entity.ID == e.ID {
				score = r.Score
				break
			}
		}
		if e.MayBeKorean() {
			korean++
			if score == 1 {
				koreanExact++
			} else if len(bad) < 10 {
				bad = append(bad, v+" for Korean "+name)
			}
			continue
		}
		other++
		switch {
		case score == 1:
			otherExact++
			if len(bad) < 10 {
				bad = append(bad, v+" for "+name)
			}
		case score >= DefaultThreshold:
			otherMatch++
		}
	}
	t.Logf("Korean vessels: %d of %d variants at 1.000; other vessels: %d of %d at 1.000, %d still a match by spelling (long names)",
		koreanExact, korean, otherExact, other, otherMatch)
	if korean < 50 || other < 500 {
		t.Fatalf("too few names: %d Korean, %d other", korean, other)
	}
	if koreanExact != korean || otherExact != 0 {
		t.Errorf("romanisation folded where it should not be, or not where it should: %s", strings.Join(bad, "; "))
	}
}
