package ledger

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Notified is a delivery notified to the 1718 Committee, as published:
// the quantity in its original unit, with the source it was taken from.
type Notified struct {
	ID string `json:"id"`
	// PeriodStart and PeriodEnd are the days the figure covers
	// (YYYY-MM-DD, inclusive), within one calendar year.
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	// Supplier is the notifying State, or several joined by "+" when the
	// source gives a combined figure ("China+Russia").
	Supplier string `json:"supplier"`
	// Product is the conversion factor's product ("" or "unspecified":
	// not stated).
	Product  string  `json:"product,omitempty"`
	Quantity float64 `json:"quantity,omitempty"`
	Unit     Unit    `json:"unit"`
	// BarrelsAsPublished is the barrel figure the source gave for a
	// quantity in another unit (0: none): the Committee's own conversion,
	// preferred to ours.
	BarrelsAsPublished float64 `json:"barrels_as_published,omitempty"`
	// Factor, when set, is the bbl/t factor the analyst chose for this
	// record (a figure the source stated), instead of the product's.
	Factor float64 `json:"factor,omitempty"`
	Source string  `json:"source"`
	Note   string  `json:"note,omitempty"`
	// Who entered it and last changed it.
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Updated   time.Time `json:"updated"`
	UpdatedBy string    `json:"updated_by"`
}

// Period is the record's days.
func (n Notified) Period() (from, to time.Time, err error) {
	from, err = time.Parse("2006-01-02", n.PeriodStart)
	if err != nil {
		return from, to, fmt.Errorf("period start %q: give a date YYYY-MM-DD", n.PeriodStart)
	}
	to, err = time.Parse("2006-01-02", n.PeriodEnd)
	if err != nil {
		return from, to, fmt.Errorf("period end %q: give a date YYYY-MM-DD", n.PeriodEnd)
	}
	return from, to, nil
}

// Year is the calendar year the record's period lies in.
func (n Notified) Year() int {
	from, _, _ := n.Period()
	return from.Year()
}

// MaxQuantity bounds a record's quantity and barrels (far above any
// year's deliveries: a bound against typing errors and overflow).
const MaxQuantity = 1e12

// Validate checks a record before it is stored.
func (n Notified) Validate() error {
	from, to, err := n.Period()
	if err != nil {
		return err
	}
	if to.Before(from) {
		return fmt.Errorf("period %s to %s ends before it starts", n.PeriodStart, n.PeriodEnd)
	}
	if from.Year() != to.Year() {
		return fmt.Errorf("period %s to %s spans two years: the cap is yearly, enter one record per year", n.PeriodStart, n.PeriodEnd)
	}
	if from.Year() < 2000 || from.Year() > 2200 {
		return fmt.Errorf("period %s: year out of range", n.PeriodStart)
	}
	if strings.TrimSpace(n.Supplier) == "" || len(n.Supplier) > 200 {
		return errors.New("supplier: give the notifying State (at most 200 bytes)")
	}
	if _, err := ParseUnit(string(n.Unit)); err != nil {
		return err
	}
	if n.Product != "" && !productPattern(n.Product) {
		return fmt.Errorf("product %q: lower-case letters, digits and underscores (e.g. gas_diesel_oil)", n.Product)
	}
	for _, q := range []struct {
		name string
		v    float64
	}{{"quantity", n.Quantity}, {"barrels as published", n.BarrelsAsPublished}, {"factor", n.Factor}} {
		if q.v < 0 || math.IsNaN(q.v) || math.IsInf(q.v, 0) {
			return fmt.Errorf("%s %v: give a positive number", q.name, q.v)
		}
		if q.v > MaxQuantity {
			return fmt.Errorf("%s %s: at most %s", q.name, strconv.FormatFloat(q.v, 'f', -1, 64), Thousands(MaxQuantity))
		}
	}
	if n.Quantity == 0 && n.BarrelsAsPublished == 0 {
		return errors.New("give a quantity (or the barrels as published)")
	}
	if n.Factor > 100 {
		return fmt.Errorf("factor %v bbl/t: at most 100", n.Factor)
	}
	if strings.TrimSpace(n.Source) == "" {
		return errors.New("source: say where the figure was published (an address)")
	}
	if len(n.Source) > 2000 || len(n.Note) > 4000 {
		return errors.New("source (2,000) or note (4,000 bytes) too long")
	}
	return nil
}

// Conversion is a notified record in barrels, with how.
type Conversion struct {
	Barrels Range `json:"barrels"`
	// Method says how: "as published", "volume", or the factor used.
	Method string `json:"method"`
	// Factor is the bbl/t range used (zero for barrels and volumes).
	Factor Range `json:"factor,omitzero"`
	// FactorSource is where the factor comes from.
	FactorSource string `json:"factor_source,omitempty"`
}

// Convert converts a record to barrels with the factors given. The order
// is the Committee's: barrels as reported; the barrels the source
// published for another unit; an exact volume conversion; the record's
// own factor; the product's factor (a range for an unspecified product).
func Convert(n Notified, fs Factors) Conversion {
	switch {
	case n.Unit == Barrel:
		return Conversion{Barrels: Exact(n.Quantity), Method: "as notified, in barrels"}
	case n.BarrelsAsPublished > 0:
		c := Conversion{Barrels: Exact(n.BarrelsAsPublished), Method: "barrels as published"}
		if n.Quantity > 0 && n.Unit == Tonne {
			c.Method = fmt.Sprintf("barrels as published (implies %.2f bbl/t)", n.BarrelsAsPublished/n.Quantity)
		}
		return c
	case barrelsPerVolumeUnit(n.Unit) > 0:
		f := barrelsPerVolumeUnit(n.Unit)
		return Conversion{Barrels: Exact(n.Quantity * f), Method: fmt.Sprintf("volume: %.6g bbl per %s (1 bbl = %v l)", f, n.Unit, LitresPerBarrel)}
	case n.Factor > 0:
		return Conversion{Barrels: Exact(n.Quantity * n.Factor), Method: fmt.Sprintf("the record's factor, %.2f bbl/t", n.Factor), Factor: Exact(n.Factor),
			FactorSource: "the record (" + n.Source + ")"}
	}
	f, _ := fs.Get(n.Product)
	return Conversion{Barrels: f.Range().Scale(n.Quantity), Method: fmt.Sprintf("factor for %s: %s bbl/t", f.Product, factorText(f)), Factor: f.Range(), FactorSource: f.Source}
}

// BarrelsText is a record's barrels as a table prints them: the
// source's own figure (notified in barrels, or the barrels it published)
// as given, decimals included (Figure); one Tidewatch computed (from a
// volume or with a factor) to the barrel, as a range when the factor is
// one.
func BarrelsText(n Notified, c Conversion) string {
	if n.Unit == Barrel || n.BarrelsAsPublished > 0 {
		return Figure(c.Barrels.Central)
	}
	return c.Barrels.Round().String()
}

func factorText(f Factor) string {
	if f.Low == f.High {
		return strconv.FormatFloat(f.BblPerTonne, 'f', -1, 64)
	}
	return fmt.Sprintf("%v (%v-%v)", f.BblPerTonne, f.Low, f.High)
}

// suppliers splits "China+Russia" into its States, folded.
func suppliers(s string) map[string]bool {
	out := map[string]bool{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '+' || r == ',' || r == '&' || r == '/' }) {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out[p] = true
		}
	}
	return out
}

// Cover says why a record of a year is not added to its total (By names
// the record that already counts it), or, with By empty, why a record
// that looks like another is added all the same.
type Cover struct {
	By  string `json:"by,omitempty"`
	Why string `json:"why"`
}

// sameFigureTolerance is how far apart (relatively) two barrel figures of
// the same period, suppliers and product may be and still be one figure
// relayed twice (rounding by the press: 1%).
const sameFigureTolerance = 0.01

// Covered finds the records another record already counts, so that a
// year's total adds each delivery once. Two rules, and only these:
//
//   - a repeated figure: the same period, suppliers and product, and the
//     same quantity in the same unit or barrels within 1% (a figure
//     relayed twice). The one entered first (lower ID on a tie) is kept.
//     The same scope with a different figure is not a repeat: both are
//     added, with a remark;
//   - a part within a whole: a period within the other's, suppliers among
//     the other's, and the same product or the other of no stated
//     product (Russia's 2018 barrels within China and Russia's combined
//     2018 tonnes; China's June within China's year). A part whose barrels
//     exceed the whole's cannot be a part of it: it is added, with a
//     remark. The widest whole names it (longest period, then most
//     suppliers, then no stated product, then entered first).
//
// Records of different stated products are never within each other. The
// result maps record IDs to their Cover; a record absent from it is added
// without remark. The choice depends on the records only, not on their
// order. It takes time near-linear in the number of records (records are
// grouped by scope and by suppliers and product, and a whole is looked up
// among at most one entry per last day of the year) and stops when ctx
// is done.
func Covered(ctx context.Context, recs []Notified, fs Factors) (map[string]Cover, error) {
	barrels := make([]Range, len(recs))
	for i, n := range recs {
		barrels[i] = Convert(n, fs).Barrels
	}
	return covered(ctx, recs, barrels)
}

// covered is Covered with each record's barrels given.
func covered(ctx context.Context, recs []Notified, barrels []Range) (map[string]Cover, error) {
	type item struct {
		idx        int
		year       int
		start, end int // days of the year
		sup        []string
		supKey     string
		product    string // "" for none stated
		barrels    Range
		gkey       string // year, suppliers and product
	}
	its := make([]item, len(recs))
	for i, n := range recs {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		from, to, _ := n.Period()
		set := suppliers(n.Supplier)
		sup := make([]string, 0, len(set))
		for s := range set {
			sup = append(sup, s)
		}
		sort.Strings(sup)
		p := n.Product
		if p == Unspecified {
			p = ""
		}
		it := item{idx: i, year: from.Year(), start: from.YearDay(), end: to.YearDay() + 366*(to.Year()-from.Year()),
			sup: sup, supKey: strings.Join(sup, "+"), product: p, barrels: barrels[i]}
		it.gkey = strconv.Itoa(it.year) + "|" + it.supKey + "|" + it.product
		its[i] = it
	}
	first := func(a, b int) bool {
		ra, rb := recs[a], recs[b]
		if !ra.Created.Equal(rb.Created) {
			return ra.Created.Before(rb.Created)
		}
		return ra.ID < rb.ID
	}
	out := map[string]Cover{}
	desc := func(i int) string {
		n := recs[i]
		return fmt.Sprintf("%s (%s to %s, %s, %s bbl)", n.ID, n.PeriodStart, n.PeriodEnd, n.Supplier, its[i].barrels.Round())
	}

	// 1. Repeated figures, scope by scope.
	scopes := map[string][]int{}
	for i, it := range its {
		k := strconv.Itoa(it.start) + "|" + strconv.Itoa(it.end) + "|" + it.gkey
		scopes[k] = append(scopes[k], i)
	}
	var reps []int // the records left after repeats are set aside
	for _, members := range scopes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sort.Slice(members, func(a, b int) bool { return first(members[a], members[b]) })
		byQuantity := map[string]int{}
		byBarrels := map[int][]int{} // log-bucket of central barrels -> reps
		bucket := func(v float64) int { return int(math.Floor(math.Log1p(v) / math.Log1p(sameFigureTolerance))) }
		var scopeReps []int
		for _, i := range members {
			n := recs[i]
			qk := ""
			if n.Quantity > 0 {
				qk = fmt.Sprintf("%s|%v", n.Unit, n.Quantity)
				if r, ok := byQuantity[qk]; ok {
					out[n.ID] = Cover{By: recs[r].ID, Why: fmt.Sprintf("the same figure as %s (%s %s), entered again", recs[r].ID, Thousands(n.Quantity), n.Unit)}
					continue
				}
			}
			v := its[i].barrels.Central
			b, rep := bucket(v), -1
			for _, bb := range []int{b - 1, b, b + 1} {
				for _, r := range byBarrels[bb] {
					w := its[r].barrels.Central
					if math.Abs(v-w) <= sameFigureTolerance*math.Max(v, w)+0.5 && (rep < 0 || first(r, rep)) {
						rep = r
					}
				}
			}
			if rep >= 0 {
				out[n.ID] = Cover{By: recs[rep].ID, Why: fmt.Sprintf("the same figure as %s (%s bbl, within 1%%), entered again", recs[rep].ID, its[rep].barrels.Round())}
				continue
			}
			if len(scopeReps) > 0 {
				o := scopeReps[0]
				out[n.ID] = Cover{Why: fmt.Sprintf("the same period, supplier and product as %s with a different figure (%s bbl against %s): both added; delete one if it corrects the other",
					recs[o].ID, its[i].barrels.Round(), its[o].barrels.Round())}
			}
			if qk != "" {
				byQuantity[qk] = i
			}
			byBarrels[b] = append(byBarrels[b], i)
			scopeReps = append(scopeReps, i)
		}
		reps = append(reps, scopeReps...)
	}
	sort.Ints(reps)

	// 2. Parts within wholes. Wholes are grouped by year, suppliers and
	// product; in a group, each last day keeps its earliest first day
	// (the widest period ending that day).
	type slot struct{ end, start, rec int }
	type group struct {
		sup     []string
		product string
		byEnd   map[int]int // end -> index in slots
		slots   []slot      // sorted by end once built
	}
	groups := map[string]*group{}
	bySupplier := map[string][]string{} // year|supplier -> group keys
	for _, i := range reps {
		it := its[i]
		k := it.gkey
		g := groups[k]
		if g == nil {
			g = &group{sup: it.sup, product: it.product, byEnd: map[int]int{}}
			groups[k] = g
			for _, s := range it.sup {
				sk := strconv.Itoa(it.year) + "|" + s
				bySupplier[sk] = append(bySupplier[sk], k)
			}
		}
		if j, ok := g.byEnd[it.end]; ok {
			sl := &g.slots[j]
			if it.start < sl.start || it.start == sl.start && first(i, sl.rec) {
				sl.start, sl.rec = it.start, i
			}
			continue
		}
		g.byEnd[it.end] = len(g.slots)
		g.slots = append(g.slots, slot{it.end, it.start, i})
	}
	for _, g := range groups {
		sort.Slice(g.slots, func(a, b int) bool { return g.slots[a].end < g.slots[b].end })
	}
	wider := func(a, b int) bool { // a's scope wider than b's
		da, db := its[a].end-its[a].start, its[b].end-its[b].start
		if da != db {
			return da > db
		}
		if len(its[a].sup) != len(its[b].sup) {
			return len(its[a].sup) > len(its[b].sup)
		}
		if (its[a].product == "") != (its[b].product == "") {
			return its[a].product == ""
		}
		return first(a, b)
	}
	candidates := map[string][]string{} // a's group key -> groups that may hold a whole of it
	candidatesOf := func(it item) []string {
		k := it.gkey
		if c, ok := candidates[k]; ok {
			return c
		}
		var c []string
		if len(it.sup) > 0 {
			// The groups naming a's least shared supplier, then all of a's.
			var least []string
			for j, s := range it.sup {
				l := bySupplier[strconv.Itoa(it.year)+"|"+s]
				if j == 0 || len(l) < len(least) {
					least = l
				}
			}
			for _, gk := range least {
				g := groups[gk]
				if g.product != it.product && g.product != "" {
					continue // different stated products are never within each other
				}
				all := true
				for _, s := range it.sup {
					if !contains(g.sup, s) {
						all = false
						break
					}
				}
				if all {
					c = append(c, gk)
				}
			}
			sort.Strings(c)
		}
		candidates[k] = c
		return c
	}
	for n, i := range reps {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		it := its[i]
		by := -1
		for _, gk := range candidatesOf(it) {
			g := groups[gk]
			own := gk == it.gkey
			for j := sort.Search(len(g.slots), func(j int) bool { return g.slots[j].end >= it.end }); j < len(g.slots); j++ {
				sl := g.slots[j]
				if sl.start > it.start || own && sl.end == it.end && sl.start == it.start {
					continue // not around it, or its own scope (a different figure: step 1)
				}
				if by < 0 || wider(sl.rec, by) {
					by = sl.rec
				}
			}
		}
		if by < 0 {
			continue
		}
		id := recs[i].ID
		if it.barrels.Low > its[by].barrels.High*(1+sameFigureTolerance)+0.5 {
			if _, ok := out[id]; !ok {
				out[id] = Cover{Why: fmt.Sprintf("within the period and suppliers of %s but more barrels (%s bbl): not a part of it, added", desc(by), it.barrels.Round())}
			}
			continue
		}
		out[id] = Cover{By: recs[by].ID, Why: "within " + desc(by) + ": a part of a figure already counted"}
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	i := sort.SearchStrings(ss, s)
	return i < len(ss) && ss[i] == s
}

// RowError is a CSV row that could not be read: it costs itself only.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// MaxCSVRows bounds an import.
const MaxCSVRows = 100000

// ParseNotifiedCSV reads notified records from CSV with a header naming
// period_start, period_end, supplier, quantity, unit and source, and
// optionally barrels_as_published, product, factor and note (the layout
// of ledger/data/notified_supplies.csv). A bad row is reported with its
// line and skipped; the others are read. A product that is not one of
// fs's is a bad row (fs nil: any product of the right form).
func ParseNotifiedCSV(r io.Reader, fs Factors) ([]Notified, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil, errors.New("empty file: no CSV header (want period_start,period_end,supplier,quantity,unit,source[,barrels_as_published,product,factor,note])")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("CSV header: %w", err)
	}
	col := columns(head)
	for _, c := range []string{"period_start", "period_end", "supplier", "unit", "source"} {
		if _, ok := col[c]; !ok {
			return nil, nil, fmt.Errorf("CSV header: no %s column (want period_start,period_end,supplier,quantity,unit,barrels_as_published,source[,product,factor,note])", c)
		}
	}
	var out []Notified
	var bad []RowError
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, RowError{Line: pe.Line, Reason: pe.Err.Error()})
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					continue
				}
				// A broken quote can swallow the rest: stop there.
				if len(bad) > 1000 {
					break
				}
				continue
			}
			return out, bad, err
		}
		line, _ := cr.FieldPos(0)
		if len(out)+len(bad) >= MaxCSVRows {
			bad = append(bad, RowError{Line: line, Reason: fmt.Sprintf("more than %d rows: the rest is not read", MaxCSVRows)})
			break
		}
		if len(rec) != len(head) {
			what := "too few"
			if len(rec) > len(head) {
				what = "too many (a number with an unquoted comma? quote it: \"1,000\")"
			}
			bad = append(bad, RowError{Line: line, Reason: fmt.Sprintf("%s fields: %d, the header has %d", what, len(rec), len(head))})
			continue
		}
		get := func(c string) string { return field(rec, col, c) }
		num := func(c string) (float64, error) { return ParseNumber(c, get(c), c != "factor") }
		n := Notified{PeriodStart: get("period_start"), PeriodEnd: get("period_end"), Supplier: get("supplier"), Product: strings.ToLower(get("product")),
			Source: get("source"), Note: get("note")}
		u, err := ParseUnit(get("unit"))
		if err == nil {
			n.Unit = u
			if n.Quantity, err = num("quantity"); err == nil {
				if n.BarrelsAsPublished, err = num("barrels_as_published"); err == nil {
					n.Factor, err = num("factor")
				}
			}
		}
		if err == nil && n.Unit == Barrel && n.Quantity == 0 {
			n.Quantity = n.BarrelsAsPublished
		}
		if err == nil {
			err = n.Validate()
		}
		if err == nil && fs != nil {
			err = fs.CheckProduct(n.Product)
		}
		if err != nil {
			bad = append(bad, RowError{Line: line, Reason: err.Error()})
			continue
		}
		out = append(out, n)
	}
	return out, bad, nil
}

// EmbeddedNotifiedCSV is ledger/data/notified_supplies.csv as embedded.
func EmbeddedNotifiedCSV() []byte {
	b, _ := data.ReadFile("data/notified_supplies.csv")
	return b
}

// EmbeddedNotified is the transcription of published notified figures
// (ledger/data/notified_supplies.csv).
func EmbeddedNotified() []Notified {
	b, _ := data.ReadFile("data/notified_supplies.csv")
	out, bad, err := ParseNotifiedCSV(bytes.NewReader(b), DefaultFactors())
	if err != nil || len(bad) > 0 {
		panic(fmt.Sprintf("embedded notified supplies: %v %v", err, bad))
	}
	return out
}

// SortNotified orders records by period, supplier and ID.
func SortNotified(rs []Notified) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.PeriodStart != b.PeriodStart {
			return a.PeriodStart < b.PeriodStart
		}
		if a.PeriodEnd != b.PeriodEnd {
			return a.PeriodEnd < b.PeriodEnd
		}
		if a.Supplier != b.Supplier {
			return a.Supplier < b.Supplier
		}
		return a.ID < b.ID
	})
}
