package ledger

import (
	"fmt"
	"strconv"
	"strings"
)

// Capacity is a tanker's deadweight in tonnes, with where it comes from.
// The deadweight stands for the cargo a fully laden call delivers (it
// includes bunkers and stores, a few per cent on a small tanker: one
// reason the lower fill scenarios exist).
type Capacity struct {
	DWT Range `json:"dwt_tonnes"`
	// Basis: "user" (entered by an analyst), "list_tonnage" (a sanctions
	// list's tonnage), "ais_length" (the length the ship broadcasts).
	Basis  string `json:"basis"`
	Detail string `json:"detail"`
	Source string `json:"source"`
}

// Capacity bases, most trusted first.
const (
	BasisUser      = "user"
	BasisList      = "list_tonnage"
	BasisAISLength = "ais_length"
)

// FromDeadweight is a capacity an analyst entered.
func FromDeadweight(dwt float64, source string) Capacity {
	return Capacity{DWT: Exact(dwt), Basis: BasisUser, Detail: fmt.Sprintf("deadweight %s t as entered", Thousands(dwt)), Source: source}
}

// The tonnage the sanctions lists give (OFAC's "Vessel Tonnage" and "GRT"
// fields, merged) does not say whether it is gross or deadweight; for a
// tanker it is usually gross. Deadweight per gross tonne for product
// tankers: a Panamax product tanker measures about 40,000 GT (Mikelis,
// "A statistical overview of ship recycling", IMO 2007, as tabulated in
// Maritime Economics & Logistics 14, 2012, table B1) and carries 60,000 to
// 80,000 t deadweight (the Panamax class of the tanker size tables), so
// 1.5 to 2.0 t per GT, 1.75 central. The low bound is 1.0: the figure may
// already be deadweight.
const (
	dwtPerGTLow     = 1.0
	dwtPerGTCentral = 1.75
	dwtPerGTHigh    = 2.0
)

// FromListTonnage is a capacity from a list's tonnage field (the text as
// listed, e.g. "2,990").
func FromListTonnage(tonnage, list string) (Capacity, bool) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(tonnage), ",", ""), 64)
	if err != nil || !(v >= 50 && v < 600000) {
		return Capacity{}, false
	}
	return Capacity{DWT: Range{v * dwtPerGTLow, v * dwtPerGTCentral, v * dwtPerGTHigh}, Basis: BasisList,
		Detail: fmt.Sprintf("listed tonnage %s, taken as gross tonnage: x%.2f t deadweight per GT (x%.1f if it is deadweight, x%.1f high)", Thousands(v), dwtPerGTCentral, dwtPerGTLow, dwtPerGTHigh),
		Source: list + " tonnage; the deadweight per gross tonne of product tankers (docs/ledger.md)"}, true
}

// Deadweight from length: a tanker's capacity grows with the cube of its
// length (J.-P. Rodrigue, T. Notteboom, Port Economics, Management and
// Policy, "Tanker sizes and classes": "the volume that can be carried in a
// tanker increases as a function of the cube of its length"). The
// coefficient k in DWT = k * L^3 is fitted to the tanker class table of
// the same kind (Wikipedia, "Tanker (ship)", petroleum tanker classes):
// Panamax 228.6 m, 60,000-80,000 DWT; Aframax 253.0 m, 80,000-120,000
// DWT. The four k those bounds give are the range; their median is the
// central value (docs/ledger.md shows the arithmetic).
var lengthClasses = []struct {
	lengthM, dwtLow, dwtHigh float64
}{
	{228.6, 60000, 80000},  // Panamax
	{253.0, 80000, 120000}, // Aframax
}

// LengthCoefficients are the low, central and high k (t/m^3).
func LengthCoefficients() Range {
	var ks []float64
	for _, c := range lengthClasses {
		l3 := c.lengthM * c.lengthM * c.lengthM
		ks = append(ks, c.dwtLow/l3, c.dwtHigh/l3)
	}
	// sort four values
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return Range{Low: ks[0], Central: (ks[1] + ks[2]) / 2, High: ks[3]}
}

// FromLength is a capacity from a length overall in metres (AIS: the
// distances to bow and stern). Lengths under 20 m or over 500 m are not a
// tanker's and give no capacity.
func FromLength(m float64) (Capacity, bool) {
	if !(m >= 20 && m <= 500) {
		return Capacity{}, false
	}
	k := LengthCoefficients()
	l3 := m * m * m
	return Capacity{DWT: k.Scale(l3), Basis: BasisAISLength,
		Detail: fmt.Sprintf("length %s m broadcast: deadweight = k x L^3, k %.5f (%.5f-%.5f) t/m^3", strconv.FormatFloat(m, 'f', -1, 64), k.Central, k.Low, k.High),
		Source: "cube law of tanker capacity (Rodrigue and Notteboom, Port Economics, Management and Policy) fitted to the Panamax and Aframax classes (docs/ledger.md)"}, true
}

// Barrels is the cargo a capacity holds fully laden, by the cargo
// product's factor: DWT (t) x bbl/t, bound by bound.
func (c Capacity) Barrels(f Factor) Range { return c.DWT.Mul(f.Range()) }
