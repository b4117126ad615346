package screen

import (
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/tidewatch/tidewatch/sanctions"
)

// The candidates kept are the first 64 of all of them sorted whole (by
// trigrams shared, then entity id and name), in that order: top finds
// them without sorting the rest. Checked on every listed name's own
// key and a variant of it, for every type.
func TestTopCandidatesAsFullSort(t *testing.T) {
	ix, ents := embeddedIndex(t)
	rng := rand.New(rand.NewSource(7))
	sc := &scratch{}
	checked, cut := 0, 0
	for _, typ := range []sanctions.EntityType{sanctions.Vessel, sanctions.Organization, sanctions.Person} {
		ni := ix.byType[typ]
		for _, e := range ents {
			if e.Type != typ || rng.Intn(4) != 0 {
				continue
			}
			name := e.Name
			if rng.Intn(2) == 0 && len(name) > 3 {
				name = name[:len(name)/2] + " SHIPPING"
			}
			key := keyFor(name, typ)
			if key.Empty() {
				continue
			}
			all := slices.Clone(ni.candidates(key, sc, 1<<30))
			got := ni.candidates(key, sc, 64)
			// The reference: the whole list sorted, as before top.
			if len(all) <= 64 {
				// Not cut: candidates returns them as found, unsorted.
				if !slices.Equal(got, all) {
					t.Fatalf("%s %q: %v, not %v", typ, name, got, all)
				}
				checked++
				continue
			}
			counts := map[int32]int{}
			for _, c := range all {
				counts[c] = 0
			}
			countsOf(ni, key, sc, counts)
			sort.Slice(all, func(i, j int) bool {
				ci, cj := counts[all[i]], counts[all[j]]
				if ci != cj {
					return ci > cj
				}
				ei, ej := &ni.entries[all[i]], &ni.entries[all[j]]
				if ei.eid != ej.eid {
					return ei.eid < ej.eid
				}
				return ei.name < ej.name
			})
			want := all[:64]
			cut++
			checked++
			if !slices.Equal(got, want) {
				t.Fatalf("%s %q: top gives %v, the whole sort %v", typ, name, got, want)
			}
		}
	}
	if cut < 100 {
		t.Fatalf("only %d of %d queries had more than 64 candidates: the test checks too little", cut, checked)
	}
	t.Logf("%d queries, %d with more than 64 candidates", checked, cut)
}

// countsOf fills counts with the trigrams each candidate shares with
// key, as candidates counts them (a slip candidate gets the threshold).
func countsOf(ni *nameIndex, key nameKey, sc *scratch, counts map[int32]int) {
	grams := trigrams(gramKey(key), nil)
	n := map[int32]int{}
	for _, g := range grams {
		for _, e := range ni.grams[g] {
			n[e]++
		}
	}
	need := max(1, len(grams)/3)
	if ni.typ != sanctions.Vessel {
		need = max(1, len(grams)/2)
	}
	for c := range counts {
		if n[c] < need {
			counts[c] = need // a slip candidate
		} else {
			counts[c] = n[c]
		}
	}
}
