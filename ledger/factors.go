package ledger

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

//go:embed data/*.csv
var data embed.FS

// Factor converts a product's tonnes to barrels.
type Factor struct {
	Product string `json:"product"`
	// BblPerTonne is the central factor; Low and High bound it (equal to
	// it for a product whose factor is a published constant).
	BblPerTonne float64 `json:"bbl_per_tonne"`
	Low         float64 `json:"low"`
	High        float64 `json:"high"`
	Source      string  `json:"source"`
	Note        string  `json:"note,omitempty"`
}

// Range is the factor as a range.
func (f Factor) Range() Range { return Range{f.Low, f.BblPerTonne, f.High} }

// Validate checks a factor is usable.
func (f Factor) Validate() error {
	if !productPattern(f.Product) {
		return fmt.Errorf("product %q: lower-case letters, digits and underscores, at most 40", f.Product)
	}
	if !(f.BblPerTonne > 0 && f.BblPerTonne < 100) {
		return fmt.Errorf("factor %v bbl/t for %s: give a number between 0 and 100", f.BblPerTonne, f.Product)
	}
	if !(f.Low > 0 && f.Low <= f.BblPerTonne && f.High >= f.BblPerTonne && f.High < 100) {
		return fmt.Errorf("factor range %v-%v bbl/t for %s: low <= central <= high, all positive", f.Low, f.High, f.Product)
	}
	if strings.TrimSpace(f.Source) == "" {
		return fmt.Errorf("factor for %s: give its source", f.Product)
	}
	return nil
}

func productPattern(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Unspecified names refined products of no stated type: the Committee's
// notifications often give tonnes without a product.
const Unspecified = "unspecified"

// unspecifiedFactor is derived from the Committee's own published pairs
// of tonnes and barrels (data/notified_supplies.csv): 2020-01 to 08
// 129,706 bbl for 17,294 t (7.50 bbl/t); 2021-06 10,725 bbl for 1,288 t
// and 2021-08 11,745 bbl for 1,410 t (8.33 bbl/t). The Committee's
// default factor for tonnes of no stated product is not published.
var unspecifiedFactor = Factor{Product: Unspecified, BblPerTonne: 7.50, Low: 7.50, High: 8.33,
	Source: "derived: the factors implied by the 1718 Committee's published tonne/barrel pairs (ledger/data/notified_supplies.csv, 2020 and 2021 rows)",
	Note:   "the Committee's default for tonnes of no stated product is not published; its pairs imply 7.50 to 8.33 bbl/t"}

// DefaultFactors are the embedded factors (ledger/data/conversion_factors.csv)
// and the derived factor for unspecified products, by product.
func DefaultFactors() Factors {
	b, err := data.ReadFile("data/conversion_factors.csv")
	if err != nil {
		panic(err) // embedded
	}
	fs, err := ParseFactorsCSV(bytes.NewReader(b))
	if err != nil {
		panic(fmt.Sprintf("embedded conversion factors: %v", err))
	}
	fs[Unspecified] = unspecifiedFactor
	return fs
}

// Factors are conversion factors by product.
type Factors map[string]Factor

// Get returns a product's factor, or the unspecified one (with ok false)
// for a product it does not hold.
func (fs Factors) Get(product string) (Factor, bool) {
	if f, ok := fs[product]; ok {
		return f, true
	}
	if f, ok := fs[Unspecified]; ok {
		return f, product == "" || product == Unspecified
	}
	return unspecifiedFactor, product == "" || product == Unspecified
}

// CheckProduct refuses a record's product that is not one of the
// factors' (none stated, "" or "unspecified", is fine): an unknown name
// ("diesel") would otherwise be converted with the unspecified factor
// without a word. The error lists the known products.
func (fs Factors) CheckProduct(product string) error {
	if product == "" || product == Unspecified {
		return nil
	}
	if _, ok := fs[product]; ok {
		return nil
	}
	known := make([]string, 0, len(fs))
	for p := range fs {
		known = append(known, p)
	}
	sort.Strings(known)
	return fmt.Errorf("product %q: not a product with a conversion factor; give one of %s (or none for a product not stated), or add its factor first (ledger factors set)", product, strings.Join(known, ", "))
}

// With returns a copy with the overrides in place.
func (fs Factors) With(over []Factor) Factors {
	out := Factors{}
	for k, v := range fs {
		out[k] = v
	}
	for _, f := range over {
		out[f.Product] = f
	}
	return out
}

// Sorted lists the factors by product.
func (fs Factors) Sorted() []Factor {
	out := make([]Factor, 0, len(fs))
	for _, f := range fs {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Product < out[j].Product })
	return out
}

// ParseFactorsCSV reads "product,bbl_per_tonne,source" rows (optionally
// low and high columns too).
func ParseFactorsCSV(r io.Reader) (Factors, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("conversion factors: %w", err)
	}
	col := columns(head)
	for _, c := range []string{"product", "bbl_per_tonne", "source"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("conversion factors: no %s column", c)
		}
	}
	out := Factors{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("conversion factors line %d: %w", line, err)
		}
		get := func(c string) string { return field(rec, col, c) }
		v, err := strconv.ParseFloat(get("bbl_per_tonne"), 64)
		if err != nil {
			return nil, fmt.Errorf("conversion factors line %d: bbl_per_tonne %q", line, get("bbl_per_tonne"))
		}
		f := Factor{Product: get("product"), BblPerTonne: v, Low: v, High: v, Source: get("source"), Note: get("note")}
		if s := get("low"); s != "" {
			f.Low, _ = strconv.ParseFloat(s, 64)
		}
		if s := get("high"); s != "" {
			f.High, _ = strconv.ParseFloat(s, 64)
		}
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("conversion factors line %d: %w", line, err)
		}
		out[f.Product] = f
	}
}

// columns maps lower-cased, trimmed header names to their index.
func columns(head []string) map[string]int {
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	return col
}

func field(rec []string, col map[string]int, name string) string {
	i, ok := col[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}
