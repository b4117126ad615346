package screen

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/names"
)

// Query is what is screened: a name and/or identifiers.
type Query struct {
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"` // vessel, organization, person, or "" / "any"
	Name     string `json:"name,omitempty"`
	IMO      string `json:"imo,omitempty"` // any written form: "IMO 8606173", "8606173"
	MMSI     string `json:"mmsi,omitempty"`
	CallSign string `json:"call_sign,omitempty"`
	Flag     string `json:"flag,omitempty"`
}

// MaxNameLength bounds a query name. Real names are under 200 characters.
const MaxNameLength = 1000

// Errors a query can fail with.
var (
	ErrEmptyQuery = errors.New("query has no name, IMO, MMSI or call sign")
	ErrBadQuery   = errors.New("bad query")
)

// Result is one entity scored against a query.
type Result struct {
	Entity      *sanctions.Entity
	Score       float64
	Match       bool // Score >= the threshold
	MatchedName string
	Explanation []string
}

// Warning is a query field that could not be used, and why. The field is
// treated as absent: it never lowers a score.
type Warning struct {
	Field   string `json:"field"` // "imo" or "mmsi"
	Value   string `json:"value"` // as given
	Message string `json:"message"`
	why     string // Message without ": ignored"
}

func (w Warning) String() string { return w.Message }

// unusable is the warning for a field set aside: why, then ": ignored"
// (unless why already says what is done with it).
func unusable(field, value, why string) Warning {
	msg := why
	if !strings.Contains(why, "ignored") {
		msg += ": ignored"
	}
	return Warning{Field: field, Value: value, Message: msg, why: why}
}

// Check reports whether the query can be screened once its unusable
// identifiers are set aside (see Sanitised), with the error Screen would
// give: a query left with nothing to screen names the fields set aside
// and why ("IMO 8606174 fails its check digit ...").
func (q Query) Check() error {
	_, _, err := q.prepare()
	return err
}

// prepare reads a query as Screen screens it: the type in its canonical
// word ("ship" is a vessel; the identifiers' checks depend on it),
// full-width digits as digits, unusable identifiers removed with a
// warning each; then it is validated.
func (q Query) prepare() (Query, []Warning, error) {
	q.normalise() // an unknown type is refused by Validate, below
	imo := q.IMO
	q, warns := q.sanitise()
	err := checkSanitised(&q, warns)
	if errors.Is(err, ErrEmptyQuery) && len(warns) == 0 && imo != "" && q.IMO == "" {
		// An IMO of zeros is dropped without a warning (AIS's "not
		// available"); when it was all the query held, say so.
		err = emptyQueryError(fmt.Sprintf("IMO %q is all zeros (AIS's \"not available\"), so the query has nothing left to screen (no name, no other identifier)", imo))
	}
	return q, warns, err
}

// checkSanitised validates q (its type read as its canonical word: Screen
// screens what it leaves) and says why an empty one is empty.
func checkSanitised(q *Query, warns []Warning) error {
	err := q.Validate()
	if errors.Is(err, ErrEmptyQuery) && len(warns) > 0 {
		var whys []string
		for _, w := range warns {
			whys = append(whys, w.why)
		}
		return emptyQueryError(strings.Join(whys, "; ") + ", so the query has nothing left to screen (no name, no other identifier)")
	}
	return err
}

// emptyQueryError is ErrEmptyQuery that says why the query is empty.
type emptyQueryError string

func (e emptyQueryError) Error() string        { return string(e) }
func (e emptyQueryError) Is(target error) bool { return target == ErrEmptyQuery }

// Answer is what screening one query gives: the results, best first, and a
// warning for each query field that could not be used.
type Answer struct {
	// Query is the query as screened: unusable identifiers removed.
	Query    Query     `json:"query"`
	Results  []Result  `json:"results"`
	Warnings []Warning `json:"warnings,omitempty"`
	// NearMisses are listed vessels the query's name alone matches but
	// whose IMO the query's contradicts: below the threshold, so not in
	// Results unless Options.All, and listed here whatever the options.
	NearMisses []NearMiss `json:"near_misses,omitempty"`
}

// NearMiss kinds.
const (
	// NearMissIMODiffers: the query's name is a listed vessel's name (a
	// match on the name alone) and its valid ship IMO is not the listed
	// one. Ships share names legitimately, so it is no match; but a ship
	// taking a sanctioned ship's name is how identities are stolen, so
	// the reviewer is shown it.
	NearMissIMODiffers = "imo_differs"
)

// NearMiss is a listed entity the query comes close to without matching,
// for a reviewer to look at; it changes no score and is never a match.
type NearMiss struct {
	Kind   string            // NearMissIMODiffers
	Entity *sanctions.Entity // the listed vessel
	// Score is the entity's score for the query (below the threshold),
	// NameScore the name's alone (at or above it).
	Score, NameScore float64
	MatchedName      string // the listed name (or alias, former name) the query's name matched
	QueryIMO         string // seven digits
	ListedIMO        string // seven digits
	// Message says it in a line: "name of listed vessel CHON MA SAN
	// (ofac-sdn:23729), IMO differs: query 9811000, listed 8660313".
	Message string
}

// Options tune a search.
type Options struct {
	Threshold float64 // default DefaultThreshold
	Limit     int     // results returned; default 10
	// All returns results below the threshold too (still best first).
	All bool
}

// typeWords reads a query's type as analysts' files write it: the
// British spelling, "company", "ship", "individual".
var typeWords = map[string]string{
	"": "", "any": "any",
	"vessel": "vessel", "ship": "vessel",
	"organization": "organization", "organisation": "organization", "company": "organization", "entity": "organization",
	"person": "person", "individual": "person",
}

// Validate checks a query before it is screened; a type written another
// way ("Company", "ship") is read as its canonical word.
func (q *Query) Validate() error {
	// In a fixed order, so that a query with two bad fields always names
	// the same one (a map's order is random), and with nothing allocated.
	for _, f := range [...]struct{ field, v string }{{"name", q.Name}, {"imo", q.IMO}, {"mmsi", q.MMSI}, {"call_sign", q.CallSign}, {"flag", q.Flag}, {"type", q.Type}} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrBadQuery, f.field)
		}
	}
	if len(q.Name) > MaxNameLength {
		return fmt.Errorf("%w: name is %d bytes, more than %d", ErrBadQuery, len(q.Name), MaxNameLength)
	}
	if !q.normalise() {
		return fmt.Errorf("%w: type %q (want vessel, organization, person or any)", ErrBadQuery, q.Type)
	}
	if strings.TrimSpace(q.Name) == "" && strings.TrimSpace(q.IMO) == "" && strings.TrimSpace(q.MMSI) == "" && strings.TrimSpace(q.CallSign) == "" {
		return ErrEmptyQuery
	}
	if q.IMO != "" && imoDigits(q.IMO) == 0 {
		return fmt.Errorf("%w: IMO %q is not seven digits", ErrBadQuery, q.IMO)
	}
	if q.MMSI != "" {
		if _, err := identity.ParseMMSI(q.MMSI); err != nil {
			return fmt.Errorf("%w: %v", ErrBadQuery, err)
		}
	}
	return nil
}

// Sanitised returns the query with unusable identifiers removed and a
// warning for each (Warning.Message), as Screen does, so that one bad field
// in a portfolio row does not stop the rest of the row from being screened.
func (q Query) Sanitised() (Query, []string) {
	q, ws := q.sanitise()
	var out []string
	for _, w := range ws {
		out = append(out, w.Message)
	}
	return q, out
}

// sanitise removes identifiers that cannot be used, with a warning for
// each: an IMO that is not seven digits or fails the check digit of the
// number space the query's type screens (ship numbers for vessels, company
// numbers for organizations, either for any type), an MMSI that is not
// nine digits or has no structure ITU-R M.585 defines. An IMO of zeros
// ("IMO0000000", AIS's "not available") is dropped without a warning;
// one without digits ("n/a") is dropped with one.
func (q Query) sanitise() (Query, []Warning) {
	var warns []Warning
	if strings.TrimSpace(q.IMO) != "" {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q.IMO)
		ds := strings.Trim(digits, "0")
		n := imoDigits(q.IMO)
		ship, company := identity.ValidShipIMO(n), identity.ValidCompanyIMO(n)
		var msg string
		switch {
		case digits == "":
			// "abc", "n/a", "unknown": said, so a row never loses its
			// IMO without a word.
			msg = fmt.Sprintf("IMO %q holds no digits, so it is not an IMO number", q.IMO)
		case ds == "":
		case n == 0:
			msg = fmt.Sprintf("IMO %q is not a seven-digit IMO number", q.IMO)
		case q.Type == "vessel" && !ship && company:
			msg = fmt.Sprintf("IMO %d is a company IMO number (its check digit is a company's, not a ship's): ignored for a vessel", n)
		case q.Type == "vessel" && !ship:
			msg = fmt.Sprintf("IMO %d fails the ship IMO check digit (expected %d; a mistyped number?)", n, identity.ShipCheckDigit(n))
		case q.Type == "organization" && !company && ship:
			msg = fmt.Sprintf("IMO %d is a ship IMO number (its check digit is a ship's, not a company's): ignored for an organization", n)
		case q.Type == "organization" && !company:
			msg = fmt.Sprintf("IMO %d fails the company IMO check digit (expected %d; a mistyped number?)", n, identity.CompanyCheckDigit(n))
		case !ship && !company:
			msg = fmt.Sprintf("IMO %d fails its check digit (expected %d for a ship, %d for a company; a mistyped number?)", n, identity.ShipCheckDigit(n), identity.CompanyCheckDigit(n))
		}
		if msg != "" {
			warns = append(warns, unusable("imo", q.IMO, msg))
		}
		if ds == "" || msg != "" {
			q.IMO = ""
		}
	}
	if strings.TrimSpace(q.MMSI) != "" {
		m, err := identity.ParseMMSI(q.MMSI)
		switch {
		case err != nil:
			warns = append(warns, unusable("mmsi", q.MMSI, fmt.Sprintf("MMSI %q is not nine digits", q.MMSI)))
			q.MMSI = ""
		case m.Kind() == identity.StationInvalid:
			warns = append(warns, unusable("mmsi", q.MMSI, fmt.Sprintf("MMSI %s has no structure ITU-R M.585 defines (no valid MID)", m)))
			q.MMSI = ""
		}
	}
	return q, warns
}

// normalise writes the query's type as its canonical word ("Company",
// "ship") and full-width digits in its identifiers as digits; false when
// the type is none of the known words (left as given).
func (q *Query) normalise() bool {
	q.IMO, q.MMSI = narrowDigits(q.IMO), narrowDigits(q.MMSI)
	t, ok := typeWords[strings.ToLower(strings.TrimSpace(q.Type))]
	if ok {
		q.Type = t
	}
	return ok
}

// narrowDigits writes full-width digits (０-９, as East Asian keyboards
// type them) as ASCII digits, so an identifier typed so is read
// (strings.Map copies nothing when no digit changes).
func narrowDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' {
			return r - '０' + '0'
		}
		return r
	}, s)
}

// imoDigits reads seven digits from any written form of an IMO number.
func imoDigits(s string) int {
	ds := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	if len(ds) != 7 || ds[0] == '0' {
		return 0
	}
	n, _ := strconv.Atoi(ds)
	return n
}

type hit struct {
	score    float64 // from identifiers
	why      []string
	nameOnly float64 // best name score
	name     string
	// The best name match's explanation, written out only for a hit
	// that makes the answer (a query scores dozens of candidates, and
	// formatting each one's words was a third of its allocations).
	namePart string // the bracketed part tried, or ""
	nameKind sanctions.NameKind
	nameWhy  nameWhy
}

// nameExplanation is the best name match's explanation for query name q.
func (h *hit) nameExplanation(q string) string {
	// As fmt.Sprintf("name %q%s ~ %s %q (%.2f): %s", ...) writes it
	// (TestNameExplanationAsSprintf), with strconv: every match's
	// explanation is made on the screening server's hot path.
	why := h.nameWhy.String()
	b := make([]byte, 0, 40+len(q)+len(h.namePart)+len(h.name)+len(why))
	b = append(b, "name "...)
	b = strconv.AppendQuote(b, q)
	if h.namePart != "" {
		b = append(b, " (bracketed part "...)
		b = strconv.AppendQuote(b, h.namePart)
		b = append(b, " tried on its own)"...)
	}
	b = append(b, " ~ "...)
	b = append(b, kindWord(h.nameKind)...)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, h.name)
	b = append(b, " ("...)
	b = strconv.AppendFloat(b, h.nameOnly, 'f', 2, 64)
	b = append(b, "): "...)
	b = append(b, why...)
	return string(b)
}

// Search screens one query whose identifiers are well formed (Validate:
// an IMO that is not seven digits or an MMSI that is not nine is an
// error). An identifier that is well formed but unusable (an IMO failing
// its check digit, an MMSI with no valid structure) is treated as absent;
// Screen says so in its warnings. Results are best first, ties broken by
// entity ID, so the same index and query always give the same answer.
func (ix *Index) Search(q Query, opt Options) ([]Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	a, err := ix.Screen(q, opt)
	return a.Results, err
}

// Screen screens one query. Identifiers that cannot be used are removed
// with a warning each (see Query.Sanitised) and never lower a score; the
// rest of the query is screened. A query that is not valid UTF-8, has a
// name over MaxNameLength or an unknown type, or is left with no name and
// no identifier, is an error (ErrBadQuery, ErrEmptyQuery); the answer then
// still carries the warnings. Results are best first, ties broken by
// entity ID, so the same index and query always give the same answer.
func (ix *Index) Screen(q Query, opt Options) (Answer, error) {
	q, warns, err := q.prepare()
	ans := Answer{Query: q, Warnings: warns}
	if err != nil {
		return ans, err
	}
	if opt.Threshold == 0 {
		opt.Threshold = DefaultThreshold
	}
	if opt.Limit == 0 {
		opt.Limit = 10
	}
	types := []sanctions.EntityType{sanctions.Vessel, sanctions.Organization, sanctions.Person}
	if q.Type != "" && q.Type != "any" {
		types = []sanctions.EntityType{sanctions.EntityType(q.Type)}
	}
	wants := func(t sanctions.EntityType) bool {
		for _, x := range types {
			if x == t {
				return true
			}
		}
		return false
	}
	hits := map[int32]*hit{}
	get := func(e int32) *hit {
		h := hits[e]
		if h == nil {
			h = &hit{}
			hits[e] = h
		}
		return h
	}

	// Identifiers first: an exact identifier is a match whatever the name says.
	queryIMO, shipIMO := 0, 0
	if q.IMO != "" {
		queryIMO = imoDigits(q.IMO)
		if identity.ValidShipIMO(queryIMO) {
			shipIMO = queryIMO
		}
		if wants(sanctions.Vessel) && shipIMO != 0 {
			for _, e := range ix.shipIMO[queryIMO] {
				h := get(e)
				h.score = 1
				h.why = append(h.why, fmt.Sprintf("IMO %d is the listed ship IMO number: an exact identifier match, whatever the name says", queryIMO))
			}
		}
		if wants(sanctions.Organization) && identity.ValidCompanyIMO(queryIMO) {
			for _, e := range ix.coIMO[queryIMO] {
				h := get(e)
				h.score = 1
				h.why = append(h.why, fmt.Sprintf("IMO %d is the listed company IMO number: an exact identifier match, whatever the name says", queryIMO))
			}
		}
	}
	if q.MMSI != "" && wants(sanctions.Vessel) {
		m, _ := identity.ParseMMSI(q.MMSI)
		for _, e := range ix.mmsi[uint32(m)] {
			h := get(e)
			h.score = max(h.score, 0.95)
			h.why = append(h.why, fmt.Sprintf("MMSI %s is listed for this vessel: an exact identifier match (MMSIs are reassigned, so check the IMO)", m))
		}
	}
	if cs := identity.NormaliseCallSign(q.CallSign); cs != "" && wants(sanctions.Vessel) {
		for _, e := range ix.callSign[cs] {
			h := get(e)
			h.score = max(h.score, 0.9)
			h.why = append(h.why, fmt.Sprintf("call sign %s is listed for this vessel: an exact identifier match", cs))
		}
	}

	// Names: the name as given and, when it holds brackets, the name
	// outside them and each name inside, the way lists and registries
	// write former names and names in another script.
	if strings.TrimSpace(q.Name) != "" {
		sc := ix.scratch.Get().(*scratch)
		alts := nameAlternatives(q.Name)
		for _, t := range types {
			ni := ix.byType[t]
			if ni == nil {
				continue // no listed name of this type
			}
			// The keys already searched (a name and its bracketed parts
			// are few: a small array, not a map).
			var seenArr [4][2]string
			seen := seenArr[:0]
			for _, alt := range alts {
				key := keyFor(alt, t)
				if key.Empty() || slices.Contains(seen, [2]string{key.Joined, key.Numbers}) {
					continue
				}
				seen = append(seen, [2]string{key.Joined, key.Numbers})
				part := ""
				if alt != q.Name {
					part = alt
				}
				for _, ei := range ni.candidates(key, sc, 64) {
					c := &ni.entries[ei]
					s, why := ni.nameScore(key, c)
					if s < 0.5 {
						continue
					}
					h := get(c.entity)
					if s > h.nameScore() {
						h.nameOnly, h.name, h.namePart, h.nameKind, h.nameWhy = s, c.name, part, c.kind, why
					}
				}
			}
		}
		ix.scratch.Put(sc)
	}
	// An IMO set aside for its check digit may be a slip of a listed one.
	var badIMO int
	for _, w := range warns {
		if w.Field == "imo" {
			badIMO = imoDigits(w.Value)
		}
	}

	// Most queries match nothing: out is made by the first result.
	var out []Result
	for e, h := range hits {
		ent := ix.entities[e]
		// The score first; the explanation only for a hit in the answer.
		score := h.score
		var listedIMO string
		imoDiffers := false
		if h.name != "" {
			ns := h.nameOnly
			// A query IMO that differs from the listed one says the name
			// belongs to another hull; the name alone still refers.
			if shipIMO != 0 && ent.Type == sanctions.Vessel && score < 1 {
				if listedIMO = ent.ShipIMO(); listedIMO != "" && listedIMO != strconv.Itoa(shipIMO) {
					ns *= 0.85
					imoDiffers = true
				}
			}
			if ns > score {
				score = ns
			}
		}
		r := Result{Entity: ent, Score: round3(score), MatchedName: h.name}
		r.Match = r.Score >= opt.Threshold
		if imoDiffers && !r.Match && round3(h.nameOnly) >= opt.Threshold {
			ans.NearMisses = append(ans.NearMisses, imoNearMiss(ent, r.Score, round3(h.nameOnly), h.name, shipIMO, listedIMO))
		}
		if !r.Match && !opt.All {
			continue
		}
		why := append([]string(nil), h.why...)
		if h.name != "" {
			if imoDiffers {
				why = append(why, fmt.Sprintf("query IMO %d differs from the listed IMO %s: the name match may be another ship of that name", shipIMO, listedIMO))
			}
			why = append(why, h.nameExplanation(q.Name))
		}
		if badIMO != 0 && ent.Type == sanctions.Vessel {
			for _, listed := range ent.IDs(sanctions.SchemeShipIMO) {
				if n, _ := strconv.Atoi(listed); oneDigitSlip(badIMO, n) {
					why = append(why, fmt.Sprintf("the query's IMO %d, set aside for its check digit, is one slip from the listed IMO %s", badIMO, listed))
				}
			}
		}
		why = append(why, joinNotes(ent)...)
		if q.Flag != "" && ent.Type == sanctions.Vessel {
			why = append(why, flagNote(q.Flag, ent))
		}
		r.Explanation = why
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Result) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		return strings.Compare(a.Entity.ID, b.Entity.ID)
	})
	if len(out) > opt.Limit {
		out = out[:opt.Limit]
	}
	if out == nil {
		out = []Result{} // an empty list, as answers have always had (no allocation)
	}
	ans.Results = out
	if len(ans.NearMisses) > 1 {
		sort.Slice(ans.NearMisses, func(i, j int) bool {
			a, b := ans.NearMisses[i], ans.NearMisses[j]
			if a.NameScore != b.NameScore {
				return a.NameScore > b.NameScore
			}
			return a.Entity.ID < b.Entity.ID
		})
		if len(ans.NearMisses) > opt.Limit {
			ans.NearMisses = ans.NearMisses[:opt.Limit]
		}
	}
	return ans, nil
}

// imoNearMiss is a listed vessel whose name the query's matches and whose
// IMO differs from the query's valid one.
func imoNearMiss(ent *sanctions.Entity, score, nameScore float64, matched string, queryIMO int, listedIMO string) NearMiss {
	q := strconv.Itoa(queryIMO)
	what := "name of"
	if nameScore < 1 {
		what = fmt.Sprintf("name close (%.2f) to", nameScore)
	}
	as := ""
	if matched != ent.Name {
		as = "; as " + matched // an alias or former name
	}
	msg := fmt.Sprintf("%s listed vessel %s (%s%s), IMO differs: query %s, listed %s", what, ent.Name, ent.ID, as, q, listedIMO)
	return NearMiss{Kind: NearMissIMODiffers, Entity: ent, Score: score, NameScore: nameScore, MatchedName: matched,
		QueryIMO: q, ListedIMO: listedIMO, Message: msg}
}

// nameAlternatives is the name as given, then, when it holds brackets,
// the name outside them and each name inside.
func nameAlternatives(name string) []string {
	out := []string{name}
	if !strings.ContainsAny(name, "([") {
		return out
	}
	base, inner := names.SplitBrackets(name)
	if strings.TrimSpace(base) != "" {
		out = append(out, base)
	}
	return append(out, inner...)
}

// oneDigitSlip reports IMO numbers that differ in one digit or by two
// neighbouring digits swapped.
func oneDigitSlip(a, b int) bool {
	x, y := strconv.Itoa(a), strconv.Itoa(b)
	if len(x) != len(y) || x == y {
		return false
	}
	var diff []int
	for i := range x {
		if x[i] != y[i] {
			diff = append(diff, i)
		}
	}
	switch len(diff) {
	case 1:
		return true
	case 2:
		i, j := diff[0], diff[1]
		return j == i+1 && x[i] == y[j] && x[j] == y[i]
	}
	return false
}

// joinNotes explains listings that were merged into the entity by name
// rather than by a shared identifier.
func joinNotes(e *sanctions.Entity) []string {
	var out []string
	for _, j := range e.Joins {
		if j.By == sanctions.JoinByName {
			out = append(out, fmt.Sprintf("listings %s and %s joined by name: the same normalised name (%s), type and programme, and no identifier that tells them apart", j.A, j.B, j.Value))
		}
	}
	return out
}

func (h *hit) nameScore() float64 { return h.nameOnly }

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

func kindWord(k sanctions.NameKind) string {
	switch k {
	case sanctions.NamePrimary:
		return "listed name"
	case sanctions.NameFormer:
		return "former name"
	case sanctions.NameWeak:
		return "weak alias"
	}
	return "alias"
}

// flagNote explains a flag without letting it lower the score: flag
// hopping is how sanctioned ships hide, so a different flag is history,
// not contradiction.
func flagNote(flag string, e *sanctions.Entity) string {
	c := flag
	if cc, ok := identity.CountryByName(flag); ok {
		c = string(cc)
	}
	switch {
	case e.Flag == "":
		return fmt.Sprintf("flag %s given; the list records no flag", c)
	case strings.EqualFold(e.Flag, c):
		return fmt.Sprintf("flag %s matches the listed flag", c)
	}
	for _, p := range e.PastFlags {
		if strings.EqualFold(p, c) {
			return fmt.Sprintf("flag %s is a listed past flag (now %s): flag changes never lower a vessel's score", c, e.Flag)
		}
	}
	return fmt.Sprintf("flag %s differs from the listed flag %s: flag changes never lower a vessel's score", c, e.Flag)
}
