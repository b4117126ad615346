package screen

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/names"
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

// TestRomanisationOnlyForKoreanNames: a listed name changed by one letter
// that Korean romanisation folding treats as the same (TALA as TARA) is
// the same name, at 1.000, only when the entity's names may be Korean
// (sanctions.Entity.MayBeKorean) and the name is romanised Korean
// syllables (names.LooksKorean); for any other vessel, company or person
// it is a different name, scored by its spelling. Before, such a variant
// of almost every listed name scored 1.000.
func TestRomanisationOnlyForKoreanNames(t *testing.T) {
	ix, ents := embeddedIndex(t)
	for _, typ := range []sanctions.EntityType{sanctions.Vessel, sanctions.Organization, sanctions.Person} {
		var korean, other, otherExact, otherMatch, koreanExact int
		var bad []string
		for _, e := range ents {
			if e.Type != typ {
				continue
			}
			name := strings.ToUpper(e.Name)
			v := romanVariant(name)
			if v == "" || strings.ContainsAny(name, "0123456789([") {
				continue
			}
			// (A name with brackets is screened as its parts as well.) A
			// variant that changed a word the key drops (a legal form:
			// LLC as RLC) or that is one of the entity's own names as
			// written (an alias spelt so) is no test of folding.
			vk := keyFor(v, typ)
			if vk.Raw == keyFor(name, typ).Raw {
				continue
			}
			own := false
			for _, n := range e.Names {
				own = own || keyFor(n.Value, typ).RawSorted == vk.RawSorted && keyFor(n.Value, typ).Raw != "" && (typ != sanctions.Vessel || keyFor(n.Value, typ).Raw == vk.Raw)
			}
			if own {
				continue
			}
			res, err := ix.Search(Query{Type: string(typ), Name: v}, Options{Limit: 50, All: true})
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
			if e.MayBeKorean() && names.LooksKorean(keyFor(name, typ).RawWords) {
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
		t.Logf("%s: Korean: %d of %d variants at 1.000; others: %d of %d at 1.000, %d still a match by spelling",
			typ, koreanExact, korean, otherExact, other, otherMatch)
		if korean < 30 || other < 500 {
			t.Fatalf("%s: too few names: %d Korean, %d other", typ, korean, other)
		}
		if koreanExact != korean || otherExact != 0 {
			t.Errorf("%s: romanisation folded where it should not be, or not where it should: %s", typ, strings.Join(bad, "; "))
		}
	}
}

// TestTypeWrittenOtherWays: a query's type written as analysts' files and
// clients write it ("ship", "Vessel", "company", "organisation",
// "individual") is screened as its canonical type by Screen as by Search;
// an unknown type is refused (ErrBadQuery). Before, Screen took the type
// as written: "ship" with a name dereferenced a missing name index (the
// server's process died on one batch row), and "ship" with the IMO of a
// listed ship found nothing.
func TestTypeWrittenOtherWays(t *testing.T) {
	ix, _ := embeddedIndex(t)
	for _, c := range []struct{ typ, canonical string }{
		{"ship", "vessel"}, {"Vessel", "vessel"}, {"VESSEL", "vessel"}, {" vessel ", "vessel"},
		{"company", "organization"}, {"organisation", "organization"}, {"Organization", "organization"},
		{"individual", "person"}, {"Person", "person"}, {"ANY", "any"},
	} {
		for _, q := range []Query{{Type: c.typ, Name: "CHON MA SAN"}, {Type: c.typ, IMO: "8660313"}, {Type: c.typ, Name: "KIM JONG UN"}} {
			got, err := ix.Screen(q, Options{})
			want := q
			want.Type = c.canonical
			exp, experr := ix.Screen(want, Options{})
			if fmt.Sprint(err) != fmt.Sprint(experr) {
				t.Fatalf("type %q, %+v: %v; as %q: %v", c.typ, q, err, c.canonical, experr)
			}
			if err != nil {
				continue // a ship's IMO for a company: refused either way
			}
			if got.Query.Type != c.canonical || len(got.Results) != len(exp.Results) || (len(exp.Results) > 0 && got.Results[0].Entity.ID != exp.Results[0].Entity.ID) {
				t.Errorf("type %q, %+v: %d results, type %q; as %q: %d results", c.typ, q, len(got.Results), got.Query.Type, c.canonical, len(exp.Results))
			}
		}
	}
	if a, err := ix.Screen(Query{Type: "ship", IMO: "8660313"}, Options{}); err != nil || len(a.Results) == 0 || a.Results[0].Entity.Name != "CHON MA SAN" {
		t.Errorf("a listed ship's IMO with type ship: %+v %v", a.Results, err)
	}
	for _, typ := range []string{"aircraft", "boat", "vesel"} {
		if _, err := ix.Screen(Query{Type: typ, Name: "KOTI"}, Options{}); !errors.Is(err, ErrBadQuery) {
			t.Errorf("type %q: %v, want ErrBadQuery", typ, err)
		}
	}
}

// TestExplanationSaysWhatWasFolded: an identical name's explanation does
// not claim romanisation was folded; a romanisation variant's does.
func TestExplanationSaysWhatWasFolded(t *testing.T) {
	ix, _ := embeddedIndex(t)
	for name, want := range map[string]string{
		"CHON MA SAN":  "same name once case, spacing and prefixes are folded",
		"CHEON MA SAN": "same name once case, spacing, prefixes and romanisation are folded",
	} {
		res, err := ix.Search(Query{Type: "vessel", Name: name}, Options{})
		if err != nil || len(res) == 0 {
			t.Fatalf("%s: %v %v", name, res, err)
		}
		if got := strings.Join(res[0].Explanation, " | "); !strings.Contains(got, want) {
			t.Errorf("%s: %s; want %q", name, got, want)
		}
	}
}

// TestFullWidthDigits: an IMO or MMSI typed in full-width digits (as East
// Asian keyboards type them) is read as its digits. Before, "８６６０３１３"
// was "IMO holds no digits" and nothing was screened.
func TestFullWidthDigits(t *testing.T) {
	ix, _ := embeddedIndex(t)
	a, err := ix.Screen(Query{IMO: "ＩＭＯ ８６６０３１３"}, Options{})
	if err != nil || len(a.Results) == 0 || a.Results[0].Entity.Name != "CHON MA SAN" || len(a.Warnings) != 0 {
		t.Errorf("full-width IMO: %+v %+v %v", a.Results, a.Warnings, err)
	}
	q := Query{IMO: "８６６０３１３"}
	if err := q.Validate(); err != nil || q.IMO != "8660313" {
		t.Errorf("Validate: %q %v", q.IMO, err)
	}
}

// TestZeroIMOSaysSo: a query of an all-zeros IMO alone is empty, and the
// error says why (it said "no name, IMO, MMSI or call sign", although an
// IMO was given).
func TestZeroIMOSaysSo(t *testing.T) {
	ix, _ := embeddedIndex(t)
	_, err := ix.Screen(Query{IMO: "0000000"}, Options{})
	if !errors.Is(err, ErrEmptyQuery) || !strings.Contains(err.Error(), "all zeros") {
		t.Errorf("%v", err)
	}
}

// TestLongNamesComparedWhole: a listed organization or person name of more
// than 64 letters with one letter changed after the 64th is not the same
// name. Before, names were compared on their first 64 bytes, so every such
// variant scored 1.000.
func TestLongNamesComparedWhole(t *testing.T) {
	ix, ents := embeddedIndex(t)
	var n, exact int
	var bad []string
	for _, e := range ents {
		if e.Type != sanctions.Organization && e.Type != sanctions.Person {
			continue
		}
		name := strings.ToUpper(e.Name)
		k := keyFor(name, e.Type)
		if len(k.Raw) <= 70 || strings.ContainsAny(name, "0123456789([") {
			continue
		}
		// Change the last letter of the name's last word that is not
		// a legal form, X for a letter or Q for an X.
		i := strings.LastIndexFunc(name, func(r rune) bool { return r >= 'A' && r <= 'Z' })
		if i < 0 {
			continue
		}
		c := byte('X')
		if name[i] == 'X' {
			c = 'Q'
		}
		v := name[:i] + string(c) + name[i+1:]
		vk := keyFor(v, e.Type)
		if vk.Raw == k.Raw || len(vk.Raw) <= 64 {
			continue // the change fell in a dropped word (a legal form)
		}
		own := false
		for _, nm := range e.Names {
			own = own || keyFor(nm.Value, e.Type).RawSorted == vk.RawSorted
		}
		if own {
			continue
		}
		res, err := ix.Search(Query{Type: string(e.Type), Name: v}, Options{Limit: 50, All: true})
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, r := range res {
			if r.Entity.ID == e.ID {
				if r.Score == 1 {
					exact++
					if len(bad) < 5 {
						bad = append(bad, v)
					}
				}
				break
			}
		}
	}
	t.Logf("%d long names with their last letter changed; %d still at 1.000", n, exact)
	if n < 50 {
		t.Fatalf("only %d long names", n)
	}
	if exact != 0 {
		t.Errorf("%d of %d long names with a letter changed after the 64th score 1.000: %s", exact, n, strings.Join(bad, "; "))
	}
}
