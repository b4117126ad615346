package screen

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/names"
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
	eid    string // the entity's ID, to break ties the same way every time
	entity int32
	kind   sanctions.NameKind
	name   string
	key    nameKey
	// roman: the name may be Korean romanised: its entity's names may be
	// (sanctions.Entity.MayBeKorean) and its words are romanised Korean
	// syllables (names.LooksKorean: KUM UN SAN, not PATRIOT or the
	// acronym PAD), so a spelling that only romanisation folding makes
	// equal is the same name.
	roman bool
	// rank is the entry's place in the order of entity ID, then name
	// (rankEntries): top breaks ties by it, comparing two integers where
	// it compared two pairs of strings.
	rank int32
}

// nameIndex finds candidate names of one entity type by shared trigrams.
type nameIndex struct {
	typ     sanctions.EntityType
	entries []nameEntry
	grams   map[uint32][]int32
	// byNumber finds vessel names by their numbers, for the short names
	// whose slips share too few trigrams to be found by them (STAR 18 and
	// SATR 18 share none).
	byNumber map[string][]int32
	idf      map[string]float64
	defIDF   float64
}

// NewIndex indexes merged entities (sanctions.Merge output). Name keys are
// computed on every core, and each type's name index is built on its own
// goroutine; the result does not depend on the number of cores.
func NewIndex(entities []*sanctions.Entity) *Index {
	ix := &Index{
		entities: entities,
		shipIMO:  map[int][]int32{},
		coIMO:    map[int][]int32{},
		mmsi:     map[uint32][]int32{},
		callSign: map[string][]int32{},
		byType:   map[sanctions.EntityType]*nameIndex{},
	}
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
	}
	// Keys of every name, in parallel: this is most of the build.
	keys := make([][]nameKey, len(entities))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(entities); i += workers {
				e := entities[i]
				ks := make([]nameKey, len(e.Names))
				for j, n := range e.Names {
					ks[j] = keyFor(n.Value, e.Type)
				}
				keys[i] = ks
			}
		}(w)
	}
	wg.Wait()
	var mu sync.Mutex
	for _, t := range sanctions.EntityTypes {
		wg.Add(1)
		go func(t sanctions.EntityType) {
			defer wg.Done()
			ni := buildNameIndex(t, entities, keys)
			mu.Lock()
			ix.byType[t] = ni
			mu.Unlock()
		}(t)
	}
	wg.Wait()
	ix.scratch.New = func() any { return &scratch{} }
	return ix
}

// buildNameIndex indexes the names of the entities of type t.
func buildNameIndex(t sanctions.EntityType, entities []*sanctions.Entity, keys [][]nameKey) *nameIndex {
	ni := &nameIndex{typ: t, grams: map[uint32][]int32{}, byNumber: map[string][]int32{}, idf: map[string]float64{}}
	df := map[string]int{}
	var g []uint32
	ents := 0
	for i, e := range entities {
		if e.Type != t {
			continue
		}
		ents++
		seen := map[string]bool{}
		roman := e.MayBeKorean()
		for j, n := range e.Names {
			k := keys[i][j]
			if k.Joined == "" && k.Numbers == "" {
				continue
			}
			ei := int32(len(ni.entries))
			ni.entries = append(ni.entries, nameEntry{eid: e.ID, entity: int32(i), kind: n.Kind, name: n.Value, key: k, roman: roman && names.LooksKorean(k.RawWords)})
			g = trigrams(gramKey(k), g)
			for _, gr := range g {
				ni.grams[gr] = append(ni.grams[gr], ei)
			}
			if t == sanctions.Vessel && k.Numbers != "" {
				ni.byNumber[k.Numbers] = append(ni.byNumber[k.Numbers], ei)
			}
			for _, w := range k.Words {
				if !seen[w] {
					seen[w] = true
					df[w]++
				}
			}
		}
	}
	// Word weights: rare words say more about who is meant than common
	// ones ("KOREA", "TRADING", "SHIPPING").
	n := float64(ents) + 1
	words := make([]string, 0, len(df))
	for w := range df {
		words = append(words, w)
	}
	// Summed in word order: in map order the average differed in its
	// last bits from one build to the next (and so could a score).
	sort.Strings(words)
	sum := 0.0
	for _, w := range words {
		v := math.Max(0.3, math.Log(n/float64(df[w])))
		ni.idf[w] = v
		sum += v
	}
	// A word no listed name has gets an average weight: a typo must not
	// make a word the rarest of all.
	ni.defIDF = 1
	if len(df) > 0 {
		ni.defIDF = sum / float64(len(df))
	}
	ni.rankEntries()
	return ni
}

// rankEntries numbers the entries in the order of entity ID, then name
// (then their place, so equal pairs keep the order they were indexed in:
// the same every build and every load).
func (ni *nameIndex) rankEntries() {
	order := make([]int32, len(ni.entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ea, eb := &ni.entries[a], &ni.entries[b]
		return cmp.Or(strings.Compare(ea.eid, eb.eid), strings.Compare(ea.name, eb.name), cmp.Compare(a, b))
	})
	for r, e := range order {
		ni.entries[e].rank = int32(r)
	}
}

// Len is the number of entities indexed.
func (ix *Index) Len() int { return len(ix.entities) }

// Entity returns an indexed entity.
func (ix *Index) Entity(i int) *sanctions.Entity { return ix.entities[i] }

type scratch struct {
	counts  []uint16
	touched []int32
	grams   []uint32
	hist    []int // top's candidates per count
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
	// Keep entries sharing at least a third of the query's trigrams (half
	// for organizations and persons, whose names share common words).
	need := uint16(max(1, len(sc.grams)/3))
	if ni.typ != sanctions.Vessel {
		need = uint16(max(1, len(sc.grams)/2))
	}
	out := make([]int32, 0, 64)
	for _, e := range sc.touched {
		if sc.counts[e] >= need {
			out = append(out, e)
		}
	}
	// Vessel names with the same number and one letter more or fewer: the
	// candidates for a slip (see nameScore).
	if key.Numbers != "" && len(key.Raw) >= minSlipLetters {
		for _, e := range ni.byNumber[key.Numbers] {
			if d := len(ni.entries[e].key.Raw) - len(key.Raw); d >= -1 && d <= 1 && sc.counts[e] < need {
				out = append(out, e)
				sc.counts[e] = need // not twice
				sc.touched = append(sc.touched, e)
			}
		}
	}
	if len(out) > limit {
		out = ni.top(out, limit, sc)
	}
	for _, e := range sc.touched {
		sc.counts[e] = 0
	}
	return out
}

// top keeps the limit candidates that sort first by trigrams shared
// (most first), then entity id and name: the first limit of out sorted
// whole, found without sorting the rest. Only the candidates above the
// limit's count and those tied at it are sorted (a query commonly has a
// few hundred candidates for 64 places; sorting them all was 4% of a
// screening request's CPU).
func (ni *nameIndex) top(out []int32, limit int, sc *scratch) []int32 {
	// The count of the limit-th candidate: the highest c with at least
	// limit candidates at c or above.
	var maxc uint16
	for _, e := range out {
		maxc = max(maxc, sc.counts[e])
	}
	if cap(sc.hist) < int(maxc)+1 {
		sc.hist = make([]int, int(maxc)+1)
	}
	hist := sc.hist[:maxc+1]
	clear(hist)
	for _, e := range out {
		hist[sc.counts[e]]++
	}
	cut, n := maxc, 0
	for ; ; cut-- {
		if n += hist[cut]; n >= limit || cut == 0 {
			break
		}
	}
	// Those above cut first, then those at it, in place.
	above := 0
	for i, e := range out {
		if sc.counts[e] > cut {
			out[i], out[above] = out[above], e
			above++
		}
	}
	tied := above
	for i := above; i < len(out); i++ {
		if e := out[i]; sc.counts[e] == cut {
			out[i], out[tied] = out[tied], e
			tied++
		}
	}
	byName := func(a, b int32) int { return cmp.Compare(ni.entries[a].rank, ni.entries[b].rank) }
	slices.SortFunc(out[:above], func(a, b int32) int {
		if ca, cb := sc.counts[a], sc.counts[b]; ca != cb {
			return cmp.Compare(cb, ca)
		}
		return byName(a, b)
	})
	slices.SortFunc(out[above:tied], byName)
	return out[:limit]
}

func (ni *nameIndex) weight(w string) float64 {
	if v, ok := ni.idf[w]; ok {
		return v
	}
	return ni.defIDF
}

// slipScore is the score of a vessel name one slip (a letter dropped,
// doubled or two swapped) from a listed name with the same number, and
// minSlipLetters the fewest letters a name needs for it.
const (
	slipScore      = 0.9
	minSlipLetters = 4
)

// foldMargin is taken off a distance measured on folded letters: folding
// makes names closer than they look.
const foldMargin = 0.06

// nameScore compares a query name with an indexed name of the same type
// and says why the score is what it is.
func (ni *nameIndex) nameScore(q nameKey, c *nameEntry) (float64, nameWhy) {
	k := c.key
	var s float64
	var why nameWhy
	switch ni.typ {
	case sanctions.Vessel:
		// Folded letters equal: the same name written another way. Else
		// the edit distance on the letters as written (a typo), or on the
		// folded letters less a margin (a typo on top of a romanisation
		// variant), so that folding alone never brings two different
		// short names within reach of each other.
		// Romanisation is folded only for a listed name that may be
		// Korean: for others the letters as written count (TARA is not
		// TALA).
		switch {
		case q.Raw == k.Raw:
			s, why.base = 1, whySameVesselAsWritten
		case c.roman && q.Joined == k.Joined:
			s, why.base = 1, whySameVessel
		case c.roman:
			s, why.base = math.Max(levSim(q.Raw, k.Raw), levSim(q.Joined, k.Joined)-foldMargin), whyTypo
		default:
			s, why.base = levSim(q.Raw, k.Raw), whyTypo
		}
		// A short name with one letter dropped, doubled or two swapped is
		// the same name when the number agrees: the number carries the
		// identity that a short name's letters cannot.
		if s < slipScore && q.Numbers != "" && q.Numbers == k.Numbers && min(len(q.Raw), len(k.Raw)) >= minSlipLetters &&
			names.OneSlip(q.Raw, k.Raw) {
			s, why.base, why.qNum = slipScore, whySlip, q.Numbers
		}
		// Numbers are identity: JI SONG 6 is not JI SONG 8.
		switch {
		case q.Numbers != "" && q.Numbers != k.Numbers:
			s *= 0.5
			why = nameWhy{base: whyNumberDiffers, qNum: q.Numbers, kNum: k.Numbers}
		case q.Numbers == "" && k.Numbers != "":
			s *= 0.85
			why.numbers, why.kNum = numListedOnly, k.Numbers
		}
	default:
		// Romanisation folded only for a listed name that may be Korean,
		// as for vessels: for others the words as written count.
		qs, ks, qj, kj := q.Sorted, k.Sorted, q.Joined, k.Joined
		if !c.roman {
			qs, ks, qj, kj = q.RawSorted, k.RawSorted, q.Raw, k.Raw
		}
		ws := ni.wordScore(q, k, c.roman)
		js := math.Max(levSim(qs, ks), levSim(qj, kj))
		if c.roman {
			// Folding only ever adds: the letters as written count too
			// (folded letters are fewer, CH as J, so one typo costs more
			// of them, and a name listed twice, once folded and once
			// not, would otherwise rank by which).
			ws = math.Max(ws, ni.wordScore(q, k, false))
			js = math.Max(js, math.Max(levSim(q.RawSorted, k.RawSorted), levSim(q.Raw, k.Raw)))
		}
		s = math.Max(ws, js)
		switch {
		case q.RawSorted == k.RawSorted && q.Raw == k.Raw:
			why.base = whySameNameAsWritten
		case qs == ks && qj == kj:
			why.base = whySameName
		case qs == ks:
			why.base = whySameWords
		default:
			why.base = whySimilarWords
		}
		if q.Numbers != k.Numbers && (q.Numbers != "" || k.Numbers != "") {
			s *= 0.8
			why.numbers = numDiffer
		}
	}
	switch c.kind {
	case sanctions.NameWeak:
		s *= 0.9
	}
	return s, why
}

// nameWhy says why a listed name scored what it did. It is kept for every
// candidate a query scores and written out (String) only for the hits in
// the answer: building the words for each of dozens of candidates was a
// tenth of a screening's allocations.
type nameWhy struct {
	base       uint8
	numbers    uint8
	qNum, kNum string
}

const (
	whySameVessel = iota + 1
	whySameVesselAsWritten
	whyTypo
	whySlip
	whyNumberDiffers
	whySameName
	whySameNameAsWritten
	whySameWords
	whySimilarWords
)

const (
	numListedOnly = iota + 1
	numDiffer
)

func (w nameWhy) String() string {
	var s string
	switch w.base {
	case whySameVessel:
		s = "same name once case, spacing, prefixes and romanisation are folded"
	case whySameVesselAsWritten:
		s = "same name once case, spacing and prefixes are folded"
	case whyTypo:
		s = "similar spelling (one or two letters differ)"
	case whySlip:
		s = "one letter dropped, doubled or two swapped, and the number " + w.qNum + " agrees"
	case whyNumberDiffers:
		return "number differs (" + w.qNum + " vs " + orNone(w.kNum) + "): a different vessel"
	case whySameName:
		s = "same name once case, punctuation, legal form and romanisation are folded"
	case whySameNameAsWritten:
		s = "same name once case, punctuation and legal form are folded"
	case whySameWords:
		s = "same words in another order"
	case whySimilarWords:
		s = "similar words"
	}
	switch w.numbers {
	case numListedOnly:
		s += "; the listed name carries number " + w.kNum + ", the query none"
	case numDiffer:
		s += "; numbers differ"
	}
	return s
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
//
// roman compares the words romanisation-folded (a listed name that may be
// Korean), else as written; a word weighs what its folded form does
// either way (RawWords and Words go one for one).
func (ni *nameIndex) wordScore(q, k nameKey, roman bool) float64 {
	if len(q.Words) == 0 || len(k.Words) == 0 {
		return 0
	}
	qWords, kWords := q.Words, k.Words
	if !roman && len(q.RawWords) == len(q.Words) && len(k.RawWords) == len(k.Words) {
		qWords, kWords = q.RawWords, k.RawWords
	}
	var qw, kw, matched float64
	used := make([]bool, len(k.Words))
	for _, w := range k.Words {
		kw += ni.weight(w)
	}
	for i, w := range qWords {
		wt := ni.weight(q.Words[i])
		qw += wt
		best, bi := 0.0, -1
		for j, v := range kWords {
			if used[j] {
				continue
			}
			var s float64
			if v == w {
				s = 1
			} else if len(w) >= 4 && len(v) >= 4 && len(w)-len(v) <= 2 && len(v)-len(w) <= 2 {
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
			matched += best * (wt + ni.weight(k.Words[bi])) / 2
		}
	}
	return 2 * matched / (qw + kw)
}

// gramKey is what candidates are found by: the letters, or the numbers of
// a name that has no letters ("7-28").
func gramKey(k nameKey) string {
	if k.Joined == "" {
		return k.Numbers
	}
	return k.Joined
}
