package screen

import (
	"math"
	"sort"
	"strconv"
	"sync"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/sanctions"
)

// DefaultThreshold is the score from which a result is a match. It was set
// on the evaluation in docs/screening.md, where it gives recall@1 of at
// least 0.99 for DPRK vessels and 0.95 for DPRK organizations and persons
// with at most 0.5% false positives on real vessel names; the scoring of
// each type is shaped so that it means the same there for every type.
const DefaultThreshold = 0.86

// Index holds the entities to screen against, by identifier and by name.
// It is built once and read by any number of goroutines.
type Index struct {
	entities []*sanctions.Entity
	shipIMO  map[int][]int32
	coIMO    map[int][]int32
	mmsi     map[uint32][]int32
	callSign map[string][]int32
	byType   map[sanctions.EntityType]*nameIndex
	scratch  sync.Pool
}

// nameEntry is one name of one entity.
type nameEntry struct {
	entity int32
	kind   sanctions.NameKind
	name   string
	key    nameKey
}

// nameIndex finds candidate names of one entity type by shared trigrams.
type nameIndex struct {
	typ     sanctions.EntityType
	entries []nameEntry
	grams   map[uint32][]int32
	idf     map[string]float64
	defIDF  float64
}

// NewIndex indexes merged entities (sanctions.Merge output).
func NewIndex(entities []*sanctions.Entity) *Index {
	ix := &Index{
		entities: entities,
		shipIMO:  map[int][]int32{},
		coIMO:    map[int][]int32{},
		mmsi:     map[uint32][]int32{},
		callSign: map[string][]int32{},
		byType:   map[sanctions.EntityType]*nameIndex{},
	}
	for _, t := range sanctions.EntityTypes {
		ix.byType[t] = &nameIndex{typ: t, grams: map[uint32][]int32{}, idf: map[string]float64{}}
	}
	df := map[sanctions.EntityType]map[string]int{}
	for _, t := range sanctions.EntityTypes {
		df[t] = map[string]int{}
	}
	var g []uint32
	for i, e := range entities {
		id := int32(i)
		for _, v := range e.IDs(sanctions.SchemeShipIMO) {
			n, _ := strconv.Atoi(v)
			ix.shipIMO[n] = append(ix.shipIMO[n], id)
		}
		for _, v := range e.IDs(sanctions.SchemeCompanyIMO) {
			n, _ := strconv.Atoi(v)
			ix.coIMO[n] = append(ix.coIMO[n], id)
		}
		for _, v := range e.IDs(sanctions.SchemeMMSI) {
			n, _ := strconv.ParseUint(v, 10, 32)
			ix.mmsi[uint32(n)] = append(ix.mmsi[uint32(n)], id)
		}
		for _, v := range e.IDs(sanctions.SchemeCallSign) {
			cs := identity.NormaliseCallSign(v)
			ix.callSign[cs] = append(ix.callSign[cs], id)
		}
		ni := ix.byType[e.Type]
		if ni == nil {
			continue
		}
		seen := map[string]bool{}
		for _, n := range e.Names {
			k := keyFor(n.Value, e.Type)
			if k.joined == "" && k.numbers == "" {
				continue
			}
			ei := int32(len(ni.entries))
			ni.entries = append(ni.entries, nameEntry{entity: id, kind: n.Kind, name: n.Value, key: k})
			g = trigrams(gramKey(k), g)
			for _, t := range g {
				ni.grams[t] = append(ni.grams[t], ei)
			}
			for _, w := range k.words {
				if !seen[w] {
					seen[w] = true
					df[e.Type][w]++
				}
			}
		}
	}
	// Word weights: rare words say more about who is meant than common
	// ones ("KOREA", "TRADING", "SHIPPING").
	for t, ni := range ix.byType {
		n := float64(0)
		ents := map[int32]bool{}
		for _, e := range ni.entries {
			ents[e.entity] = true
		}
		n = float64(len(ents)) + 1
		for w, d := range df[t] {
			ni.idf[w] = math.Max(0.3, math.Log(n/float64(d)))
		}
		// A word no listed name has gets an average weight: a typo must not
	// make a word the rarest of all.
	sum, cnt := 0.0, 0
	for _, v := range ni.idf {
		sum += v
		cnt++
	}
	ni.defIDF = 1
	if cnt > 0 {
		ni.defIDF = sum / float64(cnt)
	}
	}
	ix.scratch.New = func() any { return &scratch{} }
	return ix
}

// Len is the number of entities indexed.
func (ix *Index) Len() int { return len(ix.entities) }

// Entity returns an indexed entity.
func (ix *Index) Entity(i int) *sanctions.Entity { return ix.entities[i] }

type scratch struct {
	counts  []uint16
	touched []int32
	grams   []uint32
}

// candidates returns the entries sharing the most trigrams with key.
func (ni *nameIndex) candidates(key nameKey, sc *scratch, limit int) []int32 {
	if len(sc.counts) < len(ni.entries) {
		sc.counts = make([]uint16, len(ni.entries))
	}
	sc.grams = trigrams(gramKey(key), sc.grams)
	sc.touched = sc.touched[:0]
	for _, g := range sc.grams {
		for _, e := range ni.grams[g] {
			if sc.counts[e] == 0 {
				sc.touched = append(sc.touched, e)
			}
			sc.counts[e]++
		}
	}
	// Keep entries sharing at least a third of the query's trigrams.
	need := uint16(max(1, len(sc.grams)/3))
	out := make([]int32, 0, 64)
	for _, e := range sc.touched {
		if sc.counts[e] >= need {
			out = append(out, e)
		}
	}
	if len(out) > limit {
		sort.Slice(out, func(i, j int) bool {
			ci, cj := sc.counts[out[i]], sc.counts[out[j]]
			if ci != cj {
				return ci > cj
			}
			return out[i] < out[j]
		})
		out = out[:limit]
	}
	for _, e := range sc.touched {
		sc.counts[e] = 0
	}
	return out
}

func (ni *nameIndex) weight(w string) float64 {
	if v, ok := ni.idf[w]; ok {
		return v
	}
	return ni.defIDF
}

// foldMargin is taken off a distance measured on folded letters: folding
// makes names closer than they look.
const foldMargin = 0.06

// nameScore compares a query name with an indexed name of the same type
// and says why the score is what it is.
func (ni *nameIndex) nameScore(q nameKey, c *nameEntry) (float64, string) {
	k := c.key
	var s float64
	var why string
	switch ni.typ {
	case sanctions.Vessel:
		// Folded letters equal: the same name written another way. Else
		// the edit distance on the letters as written (a typo), or on the
		// folded letters less a margin (a typo on top of a romanisation
		// variant), so that folding alone never brings two different
		// short names within reach of each other.
		if q.joined == k.joined {
			s = 1
			why = "same name once case, spacing, prefixes and romanisation are folded"
		} else {
			s = math.Max(levSim(q.raw, k.raw), levSim(q.joined, k.joined)-foldMargin)
			why = "similar spelling (one or two letters differ)"
		}
		// Numbers are identity: JI SONG 6 is not JI SONG 8.
		switch {
		case q.numbers != "" && q.numbers != k.numbers:
			s *= 0.5
			why = "number differs (" + q.numbers + " vs " + orNone(k.numbers) + "): a different vessel"
		case q.numbers == "" && k.numbers != "":
			s *= 0.85
			why += "; the listed name carries number " + k.numbers + ", the query none"
		}
	default:
		ws := ni.wordScore(q, k)
		js := math.Max(levSim(q.sorted, k.sorted), levSim(q.joined, k.joined))
		s = math.Max(ws, js)
		switch {
		case q.sorted == k.sorted && q.joined == k.joined:
			why = "same name once case, punctuation, legal form and romanisation are folded"
		case q.sorted == k.sorted:
			why = "same words in another order"
		default:
			why = "similar words"
		}
		if q.numbers != k.numbers && (q.numbers != "" || k.numbers != "") {
			s *= 0.8
			why += "; numbers differ"
		}
	}
	switch c.kind {
	case sanctions.NameWeak:
		s *= 0.9
	}
	return s, why
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// wordScore is a weighted Dice coefficient over words: each word of either
// name counts by its rarity, and matches if equal or a near spelling
// (one typo in a word of five letters or more).
func (ni *nameIndex) wordScore(q, k nameKey) float64 {
	if len(q.words) == 0 || len(k.words) == 0 {
		return 0
	}
	var qw, kw, matched float64
	used := make([]bool, len(k.words))
	for _, w := range k.words {
		kw += ni.weight(w)
	}
	for _, w := range q.words {
		wt := ni.weight(w)
		qw += wt
		best, bi := 0.0, -1
		for j, v := range k.words {
			if used[j] {
				continue
			}
			var s float64
			if v == w {
				s = 1
			} else if len(w) >= 4 && len(v) >= 4 {
				if ls := levSim(w, v); ls >= 0.8 {
					s = ls
				}
			}
			if s > best {
				best, bi = s, j
			}
		}
		if bi >= 0 {
			used[bi] = true
			matched += best * (wt + ni.weight(k.words[bi])) / 2
		}
	}
	return 2 * matched / (qw + kw)
}

// gramKey is what candidates are found by: the letters, or the numbers of
// a name that has no letters ("7-28").
func gramKey(k nameKey) string {
	if k.joined == "" {
		return k.numbers
	}
	return k.joined
}
