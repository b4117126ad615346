package names

import (
	"bytes"
	"slices"
	"sort"
	"strings"
)

// Kind is the kind of thing a name names; it decides which words are
// noise (vessel prefixes, legal forms) and what numbers mean.
type Kind uint8

const (
	Other Kind = iota
	Vessel
	Organization
	Person
)

// Key is a name prepared for comparison.
type Key struct {
	// Words are the folded words: romanisation variants folded, numbers,
	// vessel prefixes, number markers and legal forms removed.
	Words []string
	// Numbers are the name's numbers in order ("6", "1 2"), leading zeros
	// dropped; in vessel names they are identity.
	Numbers string
	// Joined is Words concatenated: CHON MA SAN and CHONMASAN meet.
	Joined string
	// Raw is the same before romanisation folding (for typo distance).
	Raw string
	// Sorted is Words sorted then concatenated: word order ignored.
	Sorted string
	// Legal reports that a legal-form word was removed.
	Legal bool
	// Text is the name as compared, for display: the words as written
	// (not romanisation-folded), then the numbers, space-separated.
	Text string
	// RawWords are Words as written (not romanisation-folded), one for
	// one, and RawSorted them sorted and concatenated (not for vessels):
	// a name whose romanisation is not folded is compared by these.
	RawWords  []string
	RawSorted string
}

// Empty reports a key with neither letters nor numbers.
func (k Key) Empty() bool { return k.Joined == "" && k.Numbers == "" }

// Exact is the strict normalised name: letters as written (no romanisation
// folding) and numbers. Two names with equal Exact keys are the same name
// written with other case, spacing, punctuation, script look-alikes, vessel
// prefixes, number markers or legal forms.
func (k Key) Exact() string { return k.Raw + "|" + k.Numbers }

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

// foldedLegal holds the legal forms as RomanKey folds them.
var foldedLegal = func() map[string]bool {
	m := map[string]bool{}
	for w := range legalForms {
		m[RomanKey(w)] = true
	}
	return m
}()

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
		if d := len(f) - len(w); d >= -2 && d <= 2 && Similarity(f, w) >= 0.8 {
			return true
		}
	}
	return false
}

// abbreviations expand the shortenings lists and registries use.
var abbreviations = map[string]string{
	"SHPG": "SHIPPING", "SHIPG": "SHIPPING", "INTL": "INTERNATIONAL", "TRDG": "TRADING",
	"MGMT": "MANAGEMENT", "MGT": "MANAGEMENT", "MARIT": "MARITIME", "NAV": "NAVIGATION", "DEVT": "DEVELOPMENT",
	"DEV": "DEVELOPMENT", "IND": "INDUSTRIAL", "HLDGS": "HOLDINGS", "HLDG": "HOLDING", "ENT": "ENTERPRISE",
	"TECH": "TECHNOLOGY", "SVCS": "SERVICES", "SVC": "SERVICE", "BROS": "BROTHERS", "ASSN": "ASSOCIATION",
}

// numberMarkers are words that say "number" before one: NO 8, NO. 8,
// No. 8, NR 8, N°8 (° becomes a space), Nº8 and №8 (NFKC: "No").
var numberMarkers = map[string]bool{"NO": true, "N": true, "NR": true, "NUM": true, "NUMBER": true, "NBR": true}

// numberWords read as numbers in vessel names: CHON MYONG ONE is
// CHON MYONG 1.
var numberWords = map[string]string{
	"ONE": "1", "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "SIX": "6", "SEVEN": "7", "EIGHT": "8", "NINE": "9",
	"TEN": "10", "ELEVEN": "11", "TWELVE": "12", "THIRTEEN": "13", "FOURTEEN": "14", "FIFTEEN": "15", "SIXTEEN": "16",
	"SEVENTEEN": "17", "EIGHTEEN": "18", "NINETEEN": "19", "TWENTY": "20",
}

// romanNumerals read as numbers when they end a vessel name of two words
// or more (VICTORY I, SEALION II).
var romanNumerals = map[string]string{
	"I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6", "VII": "7", "VIII": "8", "IX": "9", "X": "10",
}

func isNumber(w string) bool { return w != "" && isDigit(w[0]) }

// KeyOf prepares a name of the given kind.
func KeyOf(name string, kind Kind) Key {
	return keyOfWords(strings.Fields(Fold(name)), kind)
}

func keyOfWords(words []string, kind Kind) Key {
	if kind == Vessel {
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
	// The words kept (as written, and romanisation-folded at folded[ends
	// of the one before : ends[i]]) and the numbers, in small arrays a
	// name's few words fit in: the key's strings are then cut from one
	// allocation (every key of the index is built here too).
	var textArr, numArr [8]string
	var endArr [8]int
	var foldArr [64]byte
	text, nums, ends, folded := textArr[:0], numArr[:0], endArr[:0], foldArr[:0]
	var legal bool
	for i, w := range words {
		if kind == Vessel {
			if n, ok := numberWords[w]; ok && i > 0 {
				w = n
			} else if n, ok := romanNumerals[w]; ok && i > 0 && i == len(words)-1 && !isNumber(words[i-1]) {
				w = n
			}
		}
		if kind == Vessel || kind == Organization {
			// A number marker before a number: BILLIONS NO. 18 is BILLIONS 18.
			if numberMarkers[w] && i+1 < len(words) && (isNumber(words[i+1]) || (kind == Vessel && numberWords[words[i+1]] != "")) {
				continue
			}
		}
		if isNumber(w) {
			n := strings.TrimLeft(w, "0")
			if n == "" {
				n = "0"
			}
			nums = append(nums, n)
			continue
		}
		if kind == Organization {
			if full, ok := abbreviations[w]; ok {
				w = full
			}
		}
		from := len(folded)
		folded = appendRomanKey(folded, w)
		if kind == Organization && isLegalForm(string(folded[from:])) {
			folded = folded[:from]
			legal = true
			continue
		}
		ends = append(ends, len(folded))
		text = append(text, w)
	}
	n := len(text)
	fold := func(i int) []byte {
		if i == 0 {
			return folded[:ends[0]]
		}
		return folded[ends[i-1]:ends[i]]
	}
	// One string holds, in turn: Raw (the words as written, joined),
	// Joined (the folded words), Numbers, Text, Sorted and RawSorted.
	rawLen := 0
	for _, w := range text {
		rawLen += len(w)
	}
	numLen := max(0, len(nums)-1)
	for _, x := range nums {
		numLen += len(x)
	}
	textLen := rawLen + numLen
	if n > 0 {
		textLen += n - 1
		if len(nums) > 0 {
			textLen++
		}
	}
	var b strings.Builder
	b.Grow(2*rawLen + len(folded) + numLen + textLen + len(folded))
	for _, w := range text {
		b.WriteString(w)
	}
	b.Write(folded)
	for i, x := range nums {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	for i, w := range text {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	for i, x := range nums {
		if i > 0 || n > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	var orderArr [8]int
	order := orderArr[:0]
	for i := range n {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(x, y int) int { return bytes.Compare(fold(x), fold(y)) })
	for _, i := range order {
		b.Write(fold(i))
	}
	if kind != Vessel {
		slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(text[x], text[y]) })
		for _, i := range order {
			b.WriteString(text[i])
		}
	}
	all := b.String()
	at := 0
	cut := func(l int) string {
		s := all[at : at+l]
		at += l
		return s
	}
	k := Key{Legal: legal}
	k.Raw = cut(rawLen)
	k.Joined = cut(len(folded))
	k.Numbers = cut(numLen)
	k.Text = cut(textLen)
	k.Sorted = cut(len(folded))
	if kind != Vessel {
		k.RawSorted = cut(rawLen)
	}
	if n > 0 {
		ws := make([]string, 2*n)
		k.Words, k.RawWords = ws[:n:n], ws[n:]
		r, j := 0, 0
		for i, w := range text {
			k.RawWords[i] = k.Raw[r : r+len(w)]
			r += len(w)
			k.Words[i] = k.Joined[j:ends[i]]
			j = ends[i]
		}
	}
	return k
}

// Similarity is 1 - edit distance / longer length, in [0,1]; strings of
// which one is more than twice the other's length score 0. Every byte of
// both is compared, however long: a name of more than 64 letters takes
// the multi-word path (distanceLong).
func Similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if d := la - lb; 2*max(d, -d) > max(la, lb) {
		return 0
	}
	if lb > la {
		// The distance is symmetric; b, the shorter, is the one whose
		// letters the bit vectors hold, so a name of up to 64 letters
		// against a longer one still takes the one-word path.
		a, b, la, lb = b, a, lb, la
	}
	if lb > 64 {
		return 1 - float64(distanceLong(a, b))/float64(la)
	}
	// The edit distance bit-parallel (Myers 1999, in Hyyrö's form for
	// a whole-string distance): one 64-bit word holds a column of the
	// table for b's at most 64 letters, so each letter of a costs a few
	// word operations instead of a row of comparisons (BenchmarkSimilarity;
	// FuzzSimilarity checks it against the table).
	// peq holds, for each distinct letter of b, where it stands in b;
	// slot says which entry a byte uses (0: not in b), 256 bytes to
	// clear rather than 256 words.
	var slot [256]uint8
	var peq [65]uint64
	n := uint8(0)
	for j := 0; j < lb; j++ {
		k := slot[b[j]]
		if k == 0 {
			n++
			k, slot[b[j]] = n, n
		}
		peq[k] |= 1 << j
	}
	last := uint64(1) << (lb - 1)
	pv, mv, dist := ^uint64(0), uint64(0), lb
	for i := 0; i < la; i++ {
		eq := peq[slot[a[i]]]
		xv := eq | mv
		xh := (((eq & pv) + pv) ^ pv) | eq
		ph := mv | ^(xh | pv)
		mh := pv & xh
		if ph&last != 0 {
			dist++
		} else if mh&last != 0 {
			dist--
		}
		ph = ph<<1 | 1
		mh <<= 1
		pv = mh | ^(xv | ph)
		mv = ph & xv
	}
	return 1 - float64(dist)/float64(max(la, lb))
}

// distanceLong is the edit distance of a and b when b has more than 64
// bytes: the same bit-parallel columns, b's cut into 64-letter words, each
// word passing the horizontal difference at its last row down to the next
// (Hyyrö 2003's blocks; a -1 coming in counts as a match on the first row
// of the word). It runs only for names of more than 64 letters, which are
// few.
func distanceLong(a, b string) int {
	la, lb := len(a), len(b)
	w := (lb + 63) / 64
	var slot [256]uint16
	n := 0
	for j := 0; j < lb; j++ {
		if slot[b[j]] == 0 {
			n++
			slot[b[j]] = uint16(n)
		}
	}
	// peq row 0 (bytes not in b) stays zero; pv starts all ones (the
	// first column rises by one a row), mv all zeros.
	var stack [320]uint64 // 40 distinct letters, 256 letters: no allocation
	var buf []uint64
	if size := (n + 3) * w; size <= len(stack) {
		buf = stack[:size]
	} else {
		buf = make([]uint64, size)
	}
	peq, pv, mv := buf[:(n+1)*w], buf[(n+1)*w:(n+2)*w], buf[(n+2)*w:]
	for j := 0; j < lb; j++ {
		peq[int(slot[b[j]])*w+j/64] |= 1 << (j % 64)
	}
	for k := range pv {
		pv[k] = ^uint64(0)
	}
	lastHigh := uint64(1) << ((lb - 1) % 64)
	dist := lb
	for i := 0; i < la; i++ {
		row := peq[int(slot[a[i]])*w : int(slot[a[i]])*w+w]
		hin := 1 // the first row rises by one a column
		for k := 0; k < w; k++ {
			eq, p, m := row[k], pv[k], mv[k]
			xv := eq | m
			if hin < 0 {
				eq |= 1
			}
			xh := (((eq & p) + p) ^ p) | eq
			ph := m | ^(xh | p)
			mh := p & xh
			high := uint64(1) << 63
			if k == w-1 {
				high = lastHigh
			}
			hout := 0
			if ph&high != 0 {
				hout = 1
			} else if mh&high != 0 {
				hout = -1
			}
			ph <<= 1
			mh <<= 1
			if hin < 0 {
				mh |= 1
			} else if hin > 0 {
				ph |= 1
			}
			pv[k] = mh | ^(xv | ph)
			mv[k] = ph & xv
			hin = hout
		}
		dist += hin
	}
	return dist
}

// OneSlip reports whether a and b differ by exactly one dropped (or
// added, or doubled) letter or one swap of two neighbouring letters.
func OneSlip(a, b string) bool {
	la, lb := len(a), len(b)
	switch {
	case a == b:
		return false
	case la == lb:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case la == lb+1:
		return oneDrop(a, b)
	case lb == la+1:
		return oneDrop(b, a)
	}
	return false
}

// oneDrop reports whether short is long with one letter removed.
func oneDrop(long, short string) bool {
	i := 0
	for i < len(short) && long[i] == short[i] {
		i++
	}
	return long[i+1:] == short[i:]
}

// SplitBrackets splits "NAME (OTHER NAME) [THIRD]" into the name outside
// the brackets and the names inside them, the way lists and registries
// write former names and names in another script. A leading "EX", "FORMER",
// "FKA", "F/K/A", "AKA", "A.K.A." or "FORMERLY" inside a bracket is dropped.
// Unbalanced brackets are read as far as they go.
func SplitBrackets(s string) (string, []string) {
	var inner []string
	var base strings.Builder
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i] // brackets are ASCII: bytes keep invalid UTF-8 as it was
		switch {
		case depth == 0 && (c == '(' || c == '['):
			depth, start = 1, i+1
			base.WriteByte(' ')
		case depth > 0 && (c == '(' || c == '['):
			depth++
		case depth > 0 && (c == ')' || c == ']'):
			depth--
			if depth == 0 {
				// A mismatched closer still closes: "(X]" is read as "X".
				inner = appendInner(inner, s[start:i])
			}
		case depth == 0:
			base.WriteByte(c)
		}
	}
	if depth > 0 {
		inner = appendInner(inner, s[start:])
	}
	return strings.Join(strings.Fields(base.String()), " "), inner
}

var formerMarkers = []string{"FORMERLY", "FORMER", "F/K/A", "A.K.A.", "F.K.A.", "FKA", "AKA", "EX-", "EX.", "EX "}

func appendInner(inner []string, s string) []string {
	s = strings.TrimSpace(s)
	u := strings.ToUpper(s)
	for _, m := range formerMarkers {
		if strings.HasPrefix(u, m) {
			s = strings.TrimSpace(strings.TrimLeft(s[len(m):], ":.- "))
			break
		}
	}
	if s == "" {
		return inner
	}
	return append(inner, s)
}
