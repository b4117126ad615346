package ledger

import (
	"bytes"
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
	for _, v := range []float64{n.Quantity, n.BarrelsAsPublished, n.Factor} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v > 1e12 {
			return fmt.Errorf("quantities must be positive numbers: %v", v)
		}
	}
	if n.Quantity == 0 && n.BarrelsAsPublished == 0 {
		return errors.New("give a quantity (or the barrels as published)")
	}
	if n.Factor > 100 {
		return fmt.Errorf("factor %v bbl/t: out of range", n.Factor)
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

// Covered finds the records another record already includes: one whose
// period lies within the other's and whose suppliers are among the
// other's (Russia's 2018 barrels within China and Russia's combined 2018
// tonnes; China's June figure within China's year). Those are listed but
// not added to a total. It returns, by record ID, the ID of the record
// that covers it (the widest, when several do). Two records of the same
// period and suppliers (a figure relayed twice) keep the one entered
// first (the lower ID on a tie); the other is covered by it.
func Covered(recs []Notified) map[string]string {
	type scope struct {
		from, to time.Time
		sup      map[string]bool
	}
	sc := make([]scope, len(recs))
	for i, n := range recs {
		from, to, _ := n.Period()
		sc[i] = scope{from, to, suppliers(n.Supplier)}
	}
	within := func(a, b scope) bool { // a within b
		if a.from.Before(b.from) || a.to.After(b.to) {
			return false
		}
		for s := range a.sup {
			if !b.sup[s] {
				return false
			}
		}
		return true
	}
	first := func(a, b Notified) bool {
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	}
	wider := func(a, b int) bool { // a's scope wider than b's
		da, db := sc[a].to.Sub(sc[a].from), sc[b].to.Sub(sc[b].from)
		if da != db {
			return da > db
		}
		if len(sc[a].sup) != len(sc[b].sup) {
			return len(sc[a].sup) > len(sc[b].sup)
		}
		return first(recs[a], recs[b])
	}
	out := map[string]string{}
	for i := range recs {
		by := -1
		for j := range recs {
			if i == j || !within(sc[i], sc[j]) {
				continue
			}
			if within(sc[j], sc[i]) && first(recs[i], recs[j]) {
				continue // the same scope, and i came first: i is kept
			}
			if by < 0 || wider(j, by) {
				by = j
			}
		}
		if by >= 0 {
			out[recs[i].ID] = recs[by].ID
		}
	}
	return out
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
// line and skipped; the others are read.
func ParseNotifiedCSV(r io.Reader) ([]Notified, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	head, err := cr.Read()
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
		get := func(c string) string { return field(rec, col, c) }
		num := func(c string) (float64, error) {
			s := strings.ReplaceAll(get(c), ",", "")
			if s == "" {
				return 0, nil
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q is not a number", c, get(c))
			}
			return v, nil
		}
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
	out, bad, err := ParseNotifiedCSV(bytes.NewReader(b))
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
