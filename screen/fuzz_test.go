package screen

import (
	"testing"
	"unicode/utf8"
)

// FuzzSearch screens arbitrary names and identifiers. It must not panic,
// must reject invalid input with an error, and must return scores in [0,1]
// sorted best first.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"CHONMASAN", "JI SONG 8", "M/V Ch'ŏn Ma San", "KIM, Jong Un", "Korea Achim Shipping Co., Ltd.", "7-28", "ÆØÅ ŁŻ", ""} {
		f.Add(s, "", "vessel")
	}
	f.Add("", "IMO 8606173", "any")
	f.Fuzz(func(t *testing.T, name, imo, typ string) {
		ix, _ := embeddedIndex(t)
		res, err := ix.Search(Query{Name: name, IMO: imo, Type: typ}, Options{All: true})
		if err != nil {
			return
		}
		if !utf8.ValidString(name) {
			t.Fatal("invalid UTF-8 accepted")
		}
		for i, r := range res {
			if r.Score < 0 || r.Score > 1 || (i > 0 && r.Score > res[i-1].Score) {
				t.Fatalf("bad scores %v", res)
			}
		}
	})
}
