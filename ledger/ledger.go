// Package ledger keeps the refined-petroleum cap ledger: the deliveries
// Member States notified to the UN 1718 Committee, converted to barrels,
// beside the deliveries estimated from Tidewatch's own events (a tanker's
// DPRK port call after a ship-to-ship encounter or a voyage from a supply
// area, times the tanker's capacity, under the fill scenarios governments
// and the UN Panel of Experts use), per year, against the cap of 500,000
// barrels a year (UN Security Council resolution 2397 (2017), paragraph 5).
//
// The package is pure: records, factors, capacities and events go in,
// numbers with their reasons come out. Every figure is recomputed from
// the current factors and capacities when asked for; nothing is cached.
// The method, the relations and their sources are in docs/ledger.md.
package ledger

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// CapBarrels is the yearly cap on refined-petroleum supplies to the DPRK:
// 500,000 barrels (UNSCR 2397 (2017), paragraph 5), from 2018.
const CapBarrels = 500000

// CapFrom is the first year the cap applies.
const CapFrom = 2018

// Unit is a quantity's unit as notified.
type Unit string

// Units. Volumes convert exactly; masses need a product's factor.
const (
	Barrel     Unit = "bbl"
	Tonne      Unit = "t"   // metric tonne
	Kilolitre  Unit = "kl"  // = one cubic metre
	CubicMetre Unit = "m3"  // = one kilolitre
	Litre      Unit = "l"   //
	USGallon   Unit = "gal" // US gallon, 42 to the barrel
)

// LitresPerBarrel is the US oil barrel: 42 US gallons of 3.785411784
// litres (exact by definition).
const LitresPerBarrel = 158.987294928

// ParseUnit reads a unit's usual spellings.
func ParseUnit(s string) (Unit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "bbl", "barrel", "barrels", "bbls":
		return Barrel, nil
	case "t", "tonne", "tonnes", "mt", "metric ton", "metric tons", "metric tonnes":
		return Tonne, nil
	case "kl", "kilolitre", "kilolitres", "kiloliter", "kiloliters":
		return Kilolitre, nil
	case "m3", "m³", "cubic metre", "cubic metres", "cubic meter", "cubic meters":
		return CubicMetre, nil
	case "l", "litre", "litres", "liter", "liters":
		return Litre, nil
	case "gal", "usgal", "us gallon", "us gallons", "gallon", "gallons":
		return USGallon, nil
	case "ton", "tons", "short ton", "short tons", "long ton", "long tons":
		return "", fmt.Errorf("unit %q: tons may be short (907 kg) or long (1,016 kg) tons; for metric tonnes give t, tonnes or metric tons", s)
	}
	return "", fmt.Errorf("unit %q: give bbl, t (tonnes), kl, m3, l or gal", s)
}

// barrelsPerVolumeUnit is how many barrels one unit of volume holds (0: a
// unit of mass).
func barrelsPerVolumeUnit(u Unit) float64 {
	switch u {
	case Barrel:
		return 1
	case Kilolitre, CubicMetre:
		return 1000 / LitresPerBarrel
	case Litre:
		return 1 / LitresPerBarrel
	case USGallon:
		return 1.0 / 42
	}
	return 0
}

// Range is a figure with its low and high bounds.
type Range struct {
	Low     float64 `json:"low"`
	Central float64 `json:"central"`
	High    float64 `json:"high"`
}

// Exact is a range of one value.
func Exact(v float64) Range { return Range{v, v, v} }

// Add adds two ranges bound by bound.
func (r Range) Add(o Range) Range {
	return Range{r.Low + o.Low, r.Central + o.Central, r.High + o.High}
}

// Scale multiplies every bound by f (f >= 0).
func (r Range) Scale(f float64) Range { return Range{r.Low * f, r.Central * f, r.High * f} }

// Mul multiplies two ranges of non-negative figures bound by bound.
func (r Range) Mul(o Range) Range {
	return Range{r.Low * o.Low, r.Central * o.Central, r.High * o.High}
}

// Round rounds every bound to whole units.
func (r Range) Round() Range {
	return Range{math.Round(r.Low), math.Round(r.Central), math.Round(r.High)}
}

// IsExact says the bounds are equal.
func (r Range) IsExact() bool { return r.Low == r.High }

// String is "central (low-high)", or the value alone when exact.
func (r Range) String() string {
	if r.IsExact() {
		return Thousands(r.Central)
	}
	return fmt.Sprintf("%s (%s-%s)", Thousands(r.Central), Thousands(r.Low), Thousands(r.High))
}

// Thousands writes a figure rounded to a whole number with thousands
// separators: 1367628 -> "1,367,628".
func Thousands(v float64) string {
	n := int64(math.Round(v))
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Figure is v as given, with thousands separators and every decimal it
// has ("0.5", "1,000.25", "14,385"): a notified figure is stored as the
// source published it, and shown so, not rounded to a whole unit.
func Figure(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', -1, 64)
	intPart, frac, hasPoint := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasPoint {
		b.WriteString("." + frac)
	}
	return b.String()
}

// Scenario is a fill level: the share of a tanker's capacity assumed
// delivered per DPRK port call.
type Scenario struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Fill float64 `json:"fill"`
}

// Scenarios are the fill levels used in submissions to the 1718
// Committee and by the UN Panel of Experts: one third, half, 60 %, 90 %
// and fully laden (../shared/data/ledger/SOURCES.md).
var Scenarios = []Scenario{
	{ID: "third", Name: "one third laden", Fill: 1.0 / 3},
	{ID: "half", Name: "half laden", Fill: 0.5},
	{ID: "60", Name: "60% laden", Fill: 0.6},
	{ID: "90", Name: "90% laden", Fill: 0.9},
	{ID: "full", Name: "fully laden", Fill: 1},
}

// ScenarioByFill finds the scenario of a fill level (within half a
// percent: "33% laden" is one third).
func ScenarioByFill(f float64) (Scenario, bool) {
	for _, s := range Scenarios {
		if math.Abs(s.Fill-f) < 0.005+1e-9 || (s.ID == "third" && math.Abs(f-0.33) < 1e-9) {
			return s, true
		}
	}
	return Scenario{}, false
}

// ParseNumber reads a quantity as written in a CSV cell or a form: digits
// with a decimal point, commas allowed only between groups of three digits
// before it ("1,000.5"). A decimal comma, a thousands point ("1.000,5",
// "1.000.000") or a number that reads either way ("1.000": one thousand
// with a European thousands point, or one) is refused with how to write
// it, not guessed: "1.000,5" would otherwise be read as 1.0005. name
// labels the error ("quantity"). Empty is 0. grouped false is for a
// figure that is never in thousands (a factor): no commas, and "7.230" is
// plain.
func ParseNumber(name, s string, grouped bool) (float64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	// A negative figure is refused as such: none of these (a quantity,
	// barrels, a factor) is ever below zero.
	if rest, neg := strings.CutPrefix(t, "-"); neg {
		if _, err := ParseNumber(name, rest, grouped); err == nil && strings.TrimSpace(rest) == rest && rest != "" {
			return 0, fmt.Errorf("%s %q: must be positive", name, s)
		}
	}
	intPart, frac, hasPoint := strings.Cut(t, ".")
	bad := func(why string) (float64, error) {
		return 0, fmt.Errorf("%s %q: %s (write 1000.5 or 1,000.5: a point for decimals, commas only between groups of three digits)", name, s, why)
	}
	if strings.Contains(frac, ",") || strings.Contains(frac, ".") {
		if strings.Contains(frac, ",") {
			return bad("a comma after the point looks like a European number (1.000,5 is one thousand and a half)")
		}
		return bad("more than one point")
	}
	if !allDigits(frac) || hasPoint && frac == "" {
		return bad("not a number")
	}
	if !grouped && strings.Contains(intPart, ",") {
		return bad("a comma in a figure that has no thousands looks like a decimal comma")
	}
	groups := strings.Split(intPart, ",")
	for i, g := range groups {
		if !allDigits(g) || g == "" && !(i == 0 && len(groups) == 1 && hasPoint) {
			return bad("not a number")
		}
		if len(groups) > 1 && (i > 0 && len(g) != 3 || i == 0 && len(g) > 3) {
			return bad("a comma that is not between groups of three digits looks like a decimal comma")
		}
	}
	if grouped && len(groups) == 1 && hasPoint && len(frac) == 3 && len(intPart) >= 1 && len(intPart) <= 3 && strings.TrimLeft(intPart, "0") != "" {
		return bad(fmt.Sprintf("ambiguous: %s%s with a European thousands point, or %s.%s? Write %s%s or %s.%s0", intPart, frac, intPart, frac, intPart, frac, intPart, frac))
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(t, ",", ""), 64)
	if err != nil {
		return bad("not a number")
	}
	return v, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
