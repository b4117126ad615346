package ledger

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func nearRange(t *testing.T, what string, got, want Range) {
	t.Helper()
	if !near(got.Low, want.Low) || !near(got.Central, want.Central) || !near(got.High, want.High) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func TestUnits(t *testing.T) {
	fs := DefaultFactors()
	for _, c := range []struct {
		n    Notified
		want Range
	}{
		{Notified{Quantity: 1000, Unit: Barrel}, Exact(1000)},
		// 1 kl = 1000 l; a barrel is 158.987294928 l.
		{Notified{Quantity: 1, Unit: Kilolitre}, Exact(1000 / 158.987294928)},
		{Notified{Quantity: 2, Unit: CubicMetre}, Exact(2000 / 158.987294928)},
		{Notified{Quantity: 42, Unit: USGallon}, Exact(1)},
		{Notified{Quantity: 158.987294928, Unit: Litre}, Exact(1)},
		// Tonnes of a known product: UNSD's gas/diesel oil, 7.23 bbl/t.
		{Notified{Quantity: 100, Unit: Tonne, Product: "gas_diesel_oil"}, Exact(723)},
		// Tonnes with the barrels the source published: those.
		{Notified{Quantity: 30180, Unit: Tonne, BarrelsAsPublished: 277365}, Exact(277365)},
		// The record's own factor beats the product's.
		{Notified{Quantity: 10, Unit: Tonne, Product: "gas_diesel_oil", Factor: 8}, Exact(80)},
		// No product: the factors the Committee's pairs imply, 7.50-8.33.
		{Notified{Quantity: 22730, Unit: Tonne}, Range{170475, 170475, 189340.9}},
		// A product not in the table falls back to unspecified.
		{Notified{Quantity: 1, Unit: Tonne, Product: "bitumen"}, Range{7.5, 7.5, 8.33}},
	} {
		got := Convert(c.n, fs)
		nearRange(t, strings.TrimSpace(string(c.n.Unit)+" "+c.n.Product), got.Barrels, c.want)
		if got.Method == "" {
			t.Errorf("%+v: no method", c.n)
		}
	}
	if _, err := ParseUnit("furlongs"); err == nil {
		t.Error("an unknown unit was accepted")
	}
	for in, want := range map[string]Unit{"Barrels": Barrel, "MT": Tonne, "kiloliters": Kilolitre, "m³": CubicMetre} {
		if u, err := ParseUnit(in); err != nil || u != want {
			t.Errorf("ParseUnit(%q) = %q %v", in, u, err)
		}
	}
}

func TestFactorOverrideRecomputes(t *testing.T) {
	fs := DefaultFactors()
	n := Notified{Quantity: 100, Unit: Tonne, Product: "fuel_oil"}
	if got := Convert(n, fs).Barrels.Central; !near(got, 691) {
		t.Fatalf("fuel oil: %v", got)
	}
	fs2 := fs.With([]Factor{{Product: "fuel_oil", BblPerTonne: 7, Low: 6.9, High: 7.1, Source: "test"}})
	nearRange(t, "after the factor changed", Convert(n, fs2).Barrels, Range{690, 700, 710})
	if Convert(n, fs).Barrels.Central != 691 {
		t.Error("With changed the original factors")
	}
}

func TestEmbeddedData(t *testing.T) {
	fs := DefaultFactors()
	if f, ok := fs.Get("lpg_1718_committee"); !ok || f.BblPerTonne != 11.6 || !strings.Contains(f.Source, "un.org") {
		t.Errorf("lpg: %+v", f)
	}
	if len(EmbeddedNotified()) != 11 {
		t.Errorf("%d notified rows", len(EmbeddedNotified()))
	}
	ps := EmbeddedPublished()
	if len(ps) != 10 || ps[0].Barrels != 1367628 || ps[0].Fill != 0.9 || ps[0].Deliveries != 89 || ps[3].Fill != 1 {
		t.Errorf("published: %d rows, first %+v", len(ps), ps[0])
	}
}

// The embedded 2018, 2019 and 2021 figures, by hand: combined figures
// include their parts (Russia's 2018 barrels are within China and
// Russia's combined tonnes; China's June and August 2021 within its year).
func TestYearTotalsByHand(t *testing.T) {
	recs := EmbeddedNotified()
	for i := range recs {
		recs[i].ID = string(rune('a' + i))
	}
	fs := DefaultFactors()
	// 2018: 48,430 t (no product) x 7.50-8.33; Russia's 241,114 bbl covered.
	y := mustBuild(t, 2018, recs, nil, nil, EmbeddedPublished(), fs)
	nearRange(t, "2018 notified", y.NotifiedTotal, Range{363225, 363225, 403421.9})
	nearRange(t, "2018 share", y.NotifiedShare, Range{363225.0 / 500000, 363225.0 / 500000, 403421.9 / 500000})
	covered := 0
	for _, l := range y.Notified {
		if l.CoveredBy != "" {
			covered++
			if l.Record.Supplier != "Russia" {
				t.Errorf("2018: %s covered", l.Record.Supplier)
			}
		}
	}
	if covered != 1 || len(y.Notified) != 2 {
		t.Errorf("2018: %d lines, %d covered", len(y.Notified), covered)
	}
	// 2019: China 22,730 t x 7.50-8.33 + Russia 277,365 bbl as published.
	y = mustBuild(t, 2019, recs, nil, nil, nil, fs)
	nearRange(t, "2019 notified", y.NotifiedTotal, Range{170475 + 277365, 170475 + 277365, 189340.9 + 277365})
	// 2021: China's year, 91,909 bbl; the two months inside it are covered.
	y = mustBuild(t, 2021, recs, nil, nil, nil, fs)
	nearRange(t, "2021 notified", y.NotifiedTotal, Exact(91909))
	if y.Cap != 500000 || len(y.Totals) != 5 {
		t.Errorf("2021: cap %v, %d scenario totals", y.Cap, len(y.Totals))
	}
	// Before the cap there is none.
	if mustBuild(t, 2017, recs, nil, nil, nil, fs).Cap != 0 {
		t.Error("a cap before 2018")
	}
}

func TestCoveredSameFigureTwice(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Notified{ID: "a", PeriodStart: "2024-01-01", PeriodEnd: "2024-12-31", Supplier: "China", Quantity: 10, Unit: Barrel, Created: t0}
	b := a
	b.ID, b.Created = "b", t0.Add(time.Hour)
	c := Notified{ID: "c", PeriodStart: "2024-03-01", PeriodEnd: "2024-03-31", Supplier: "Russia", Quantity: 5, Unit: Barrel}
	got, err := Covered(context.Background(), []Notified{b, a, c}, DefaultFactors())
	if err != nil {
		t.Fatal(err)
	}
	if got["b"].By != "a" || got["a"].By != "" || got["c"].By != "" {
		t.Errorf("covered: %v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Notified{PeriodStart: "2024-01-01", PeriodEnd: "2024-06-30", Supplier: "China", Quantity: 1, Unit: Tonne, Source: "https://example.org"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(n *Notified){
		"two years":   func(n *Notified) { n.PeriodEnd = "2025-01-31" },
		"backwards":   func(n *Notified) { n.PeriodEnd = "2023-12-31" },
		"bad date":    func(n *Notified) { n.PeriodStart = "1 Jan 2024" },
		"no supplier": func(n *Notified) { n.Supplier = " " },
		"no source":   func(n *Notified) { n.Source = "" },
		"no quantity": func(n *Notified) { n.Quantity = 0 },
		"negative":    func(n *Notified) { n.Quantity = -3 },
		"NaN":         func(n *Notified) { n.Quantity = math.NaN() },
		"bad unit":    func(n *Notified) { n.Unit = "furlong" },
		"bad product": func(n *Notified) { n.Product = "Gas Oil" },
	} {
		n := ok
		f(&n)
		if err := n.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseNotifiedCSVBadRows(t *testing.T) {
	in := "period_start,period_end,supplier,quantity,unit,barrels_as_published,source,note,product\n" +
		"2024-01-01,2024-01-31,China,100,t,,https://a.example,,gas_diesel_oil\n" +
		"2024-02-01,2024-02-29,China,lots,t,,https://a.example,,\n" +
		"2024-03-01,2025-03-31,China,100,t,,https://a.example,,\n" +
		"2024-04-01,2024-04-30,Russia,,bbl,5000,https://b.example,as published,\n" +
		"\"broken,2024\n"
	recs, bad, err := ParseNotifiedCSV(strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Quantity != 5000 || recs[0].Product != "gas_diesel_oil" {
		t.Errorf("records: %+v", recs)
	}
	if len(bad) != 3 || bad[0].Line != 3 || bad[1].Line != 4 || !strings.Contains(bad[0].Reason, "not a number") {
		t.Errorf("bad rows: %+v", bad)
	}
	if _, _, err := ParseNotifiedCSV(strings.NewReader("a,b\n1,2\n"), nil); err == nil {
		t.Error("a CSV without the columns was read")
	}
}

// Deadweight from length, by hand: k = DWT / L^3 for the Panamax (228.6 m,
// 60,000-80,000 t) and Aframax (253.0 m, 80,000-120,000 t) bounds:
// 60000/228.6^3 = 0.0050225, 80000/228.6^3 = 0.0066967,
// 80000/253^3 = 0.0049400, 120000/253^3 = 0.0074100; median
// (0.0050225 + 0.0066967) / 2 = 0.0058596. For 110 m (110^3 = 1,331,000):
// 6,575 / 7,799 / 9,863 t.
func TestCapacityFromLengthByHand(t *testing.T) {
	k := LengthCoefficients()
	if math.Abs(k.Low-0.0049400) > 1e-7 || math.Abs(k.Central-0.0058596) > 1e-7 || math.Abs(k.High-0.0074100) > 1e-7 {
		t.Errorf("k = %+v", k)
	}
	c, ok := FromLength(110)
	if !ok || c.Basis != BasisAISLength {
		t.Fatal(c, ok)
	}
	if math.Abs(c.DWT.Low-6575.2) > 0.1 || math.Abs(c.DWT.Central-7799.2) > 0.1 || math.Abs(c.DWT.High-9862.7) > 0.1 {
		t.Errorf("110 m: %+v", c.DWT)
	}
	for _, bad := range []float64{0, 5, 19.9, 511, math.NaN()} {
		if _, ok := FromLength(bad); ok {
			t.Errorf("length %v gave a capacity", bad)
		}
	}
	g, ok := FromListTonnage("2,990", "ofac-sdn")
	nearRange(t, "listed tonnage 2,990", g.DWT, Range{2990, 2990 * 1.75, 5980})
	if !ok {
		t.Error("tonnage not read")
	}
	if _, ok := FromListTonnage("unknown", "x"); ok {
		t.Error("a tonnage of words")
	}
	if u := FromDeadweight(5000, "Q88"); !u.DWT.IsExact() || u.Basis != BasisUser {
		t.Errorf("user: %+v", u)
	}
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func ev(id, kind string, start, end float64, mmsis ...uint32) detect.Event {
	e := detect.Event{ID: id, Kind: kind, Start: t0.Add(time.Duration(start * float64(time.Hour))), End: t0.Add(time.Duration(end * float64(time.Hour)))}
	for _, m := range mmsis {
		e.Vessels = append(e.Vessels, detect.Vessel{MMSI: m})
	}
	return e
}

func TestEstimates(t *testing.T) {
	const dprk, foreign, fisher, other = 445000101, 667000202, 445000999, 445000888
	capOf, _ := FromLength(110)
	facts := func(m uint32, _ time.Time) Vessel {
		switch m {
		case dprk:
			return Vessel{IMO: 8660313, Name: "SIM PAEK SONG", Tanker: true, TankerWhy: "AIS ship type 80", Capacity: &capOf}
		case foreign:
			return Vessel{Name: "SIM OCEAN STAR", Tanker: true}
		case other:
			return Vessel{Tanker: true} // no capacity known
		}
		return Vessel{}
	}
	sts := ev("enc", detect.KindEncounter, 7, 12, dprk, foreign)
	sts.Details.Zone, sts.Details.ZoneKind, sts.Details.ZoneName = "sts-korea-bay-nampo-chodo", "sts_area", "Korea Bay"
	call := ev("call", detect.KindPortCall, 20, 72, dprk)
	call.Details.DPRKPort, call.Details.Port = true, "Nampo"
	// A second call with no loading in between: not a delivery.
	call2 := ev("call2", detect.KindPortCall, 100, 110, dprk)
	call2.Details.DPRKPort = true
	// A fishing boat's DPRK call: not a tanker, ignored.
	fish := ev("fish", detect.KindPortCall, 20, 30, fisher)
	fish.Details.DPRKPort = true
	// Another tanker leaves Vostochny and calls at Rajin: a delivery with
	// no capacity known.
	exit := ev("exit", detect.KindZoneExit, 200, 240, other)
	exit.Details.Zone, exit.Details.ZoneKind, exit.Details.HoursInside = "sts-vostochny-nakhodka", "sts_area", 40
	rajin := ev("rajin", detect.KindPortCall, 300, 320, other)
	rajin.Details.DPRKPort, rajin.Details.Port = true, "Rajin"
	// Leaving the Korea Bay area is not a voyage from a supply area.
	bay := ev("bay", detect.KindZoneExit, 400, 401, other)
	bay.Details.Zone, bay.Details.ZoneKind = "sts-korea-bay-nampo-chodo", "sts_area"
	nampo2 := ev("nampo2", detect.KindPortCall, 402, 420, other)
	nampo2.Details.DPRKPort = true
	ests, skipped := Estimates([]detect.Event{nampo2, bay, rajin, exit, fish, call2, call, sts}, facts, DefaultRules, DefaultFactors())
	if len(ests) != 2 {
		t.Fatalf("%d estimates: %+v", len(ests), ests)
	}
	e := ests[0]
	if e.PortCallID != "call" || strings.Join(e.EventIDs, " ") != "enc call" || e.Year != 2026 || e.Port != "Nampo" || len(e.Triggers) != 1 ||
		!strings.Contains(e.Triggers[0].Why, "Korea Bay") || !strings.Contains(e.Triggers[0].Why, "667000202 SIM OCEAN STAR (tanker)") {
		t.Errorf("the STS delivery: %+v", e)
	}
	// By hand: fully laden 7,799.15 t x 7.50 bbl/t = 58,493.6 bbl
	// (6,575.16 x 7.50 = 49,313.7 to 9,862.74 x 8.33 = 82,156.7).
	nearRange(t, "fully laden", e.FullyLaden, Range{49313.717, 58493.644, 82156.653})
	nearRange(t, "90% laden", e.Amount("90"), Range{49313.717 * 0.9, 58493.644 * 0.9, 82156.653 * 0.9})
	nearRange(t, "one third", e.Amount("third"), Range{49313.717 / 3, 58493.644 / 3, 82156.653 / 3})
	r := ests[1]
	if r.PortCallID != "rajin" || !r.NoCapacity || r.FullyLaden != (Range{}) || !strings.Contains(r.Triggers[0].Why, "voyage from a supply area") {
		t.Errorf("the Vostochny delivery: %+v", r)
	}
	if len(skipped) != 2 || skipped[0].PortCallID != "call2" || skipped[1].PortCallID != "nampo2" {
		t.Errorf("skipped: %+v", skipped)
	}
	// A loading older than the lookback does not count.
	late := call
	late.Start, late.End = t0.Add(40*24*time.Hour), t0.Add(41*24*time.Hour)
	if ests, _ := Estimates([]detect.Event{sts, late}, facts, DefaultRules, DefaultFactors()); len(ests) != 0 {
		t.Errorf("a loading 40 days before counted: %+v", ests)
	}
	// An encounter with a non-tanker outside any STS area is no loading.
	plain := ev("plain", detect.KindEncounter, 7, 12, dprk, fisher)
	if ests, _ := Estimates([]detect.Event{plain, call}, facts, DefaultRules, DefaultFactors()); len(ests) != 0 {
		t.Errorf("an encounter with a fishing boat at sea counted: %+v", ests)
	}

	// The year: totals per scenario, and the published figures beside.
	y := mustBuild(t, 2026, nil, ests, skipped, []Published{{PeriodStart: "2026-01-01", PeriodEnd: "2026-06-30", Barrels: 1e6, Fill: 0.9, Scenario: "90% laden", Deliveries: 10}}, DefaultFactors())
	if y.NoCapacity != 1 || len(y.Totals) != 5 || len(y.Skipped) != 2 {
		t.Errorf("year: %+v", y)
	}
	full := y.Totals[4]
	nearRange(t, "fully laden total", full.Estimated, Range{49313.717, 58493.644, 82156.653})
	nearRange(t, "share", full.Share, Range{49313.717 / 5e5, 58493.644 / 5e5, 82156.653 / 5e5})
	if len(y.Published) != 1 || y.Published[0].OurDeliveries != 2 || y.Published[0].OursScenario != "90" {
		t.Errorf("published beside: %+v", y.Published)
	}
	nearRange(t, "ours, 90%", y.Published[0].Ours, Range{49313.717 * 0.9, 58493.644 * 0.9, 82156.653 * 0.9})
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1367628: "1,367,628", -4500.4: "-4,500"} {
		if got := Thousands(v); got != want {
			t.Errorf("Thousands(%v) = %q", v, got)
		}
	}
	if got := Percent(0.337); got != "33.7%" {
		t.Error(got)
	}
	if got := Percent(0.1); got != "10%" {
		t.Error(got)
	}
	if got := (Range{1, 2, 3}).String(); got != "2 (1-3)" {
		t.Error(got)
	}
}

func mustBuild(t testing.TB, year int, recs []Notified, ests []Estimate, skipped []Skipped, published []Published, fs Factors) Year {
	t.Helper()
	y, err := Build(context.Background(), year, recs, ests, skipped, published, fs)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// The tester's example: two products of one supplier and month are two
// deliveries, whichever was entered first: 100 t of motor gasoline x 8.50
// = 850 bbl and 200 t of gas/diesel oil x 7.23 = 1,446 bbl, 2,296 bbl.
func TestCoveredDifferentProductsBothAdded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Notified{ID: "n-b", PeriodStart: "2026-01-01", PeriodEnd: "2026-01-31", Supplier: "China", Quantity: 100, Unit: Tonne, Product: "motor_gasoline", Source: "http://x", Created: t0}
	b := Notified{ID: "n-a", PeriodStart: "2026-01-01", PeriodEnd: "2026-01-31", Supplier: "China", Quantity: 200, Unit: Tonne, Product: "gas_diesel_oil", Source: "http://x", Created: t0.Add(time.Second)}
	for _, order := range [][]Notified{{a, b}, {b, a}} {
		y := mustBuild(t, 2026, order, nil, nil, nil, DefaultFactors())
		nearRange(t, "two products", y.NotifiedTotal, Exact(2296))
		for _, l := range y.Notified {
			if l.CoveredBy != "" || l.Why != "" {
				t.Errorf("%s: covered by %q (%s)", l.Record.ID, l.CoveredBy, l.Why)
			}
		}
	}
	// A figure of no stated product for the month still holds both.
	c := Notified{ID: "n-c", PeriodStart: "2026-01-01", PeriodEnd: "2026-01-31", Supplier: "China", Quantity: 2296, Unit: Barrel, Source: "http://x", Created: t0.Add(2 * time.Second)}
	y := mustBuild(t, 2026, []Notified{a, b, c}, nil, nil, nil, DefaultFactors())
	nearRange(t, "month with its parts", y.NotifiedTotal, Exact(2296))
	for _, l := range y.Notified {
		if (l.CoveredBy == "n-c") != (l.Record.ID != "n-c") || l.Why == "" && l.CoveredBy != "" {
			t.Errorf("%s: covered by %q (%s)", l.Record.ID, l.CoveredBy, l.Why)
		}
	}
}

func TestCoveredSameScopeDifferentFigures(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string, q float64, u Unit, at int) Notified {
		return Notified{ID: id, PeriodStart: "2026-03-01", PeriodEnd: "2026-03-31", Supplier: "Russia", Quantity: q, Unit: u, Source: "http://x", Created: t0.Add(time.Duration(at) * time.Second)}
	}
	recs := []Notified{
		mk("n-1", 1000, Barrel, 0),
		mk("n-2", 1005, Barrel, 1), // within 1%: the same figure relayed
		mk("n-3", 9000, Barrel, 2), // very different: another figure
		mk("n-4", 9000, Barrel, 3), // the same as n-3
	}
	want := map[string]string{"n-1": "", "n-2": "n-1", "n-3": "", "n-4": "n-3"}
	for _, order := range [][]Notified{recs, {recs[3], recs[2], recs[1], recs[0]}, {recs[2], recs[0], recs[3], recs[1]}} {
		got, err := Covered(context.Background(), order, DefaultFactors())
		if err != nil {
			t.Fatal(err)
		}
		for id, by := range want {
			if got[id].By != by {
				t.Errorf("%s: covered by %q (%s), want %q", id, got[id].By, got[id].Why, by)
			}
		}
		if !strings.Contains(got["n-3"].Why, "both added") || !strings.Contains(got["n-2"].Why, "same figure as n-1") {
			t.Errorf("reasons: %q, %q", got["n-3"].Why, got["n-2"].Why)
		}
	}
	y := mustBuild(t, 2026, recs, nil, nil, nil, DefaultFactors())
	nearRange(t, "two figures", y.NotifiedTotal, Exact(10000))
}

func TestCoveredPartLargerThanWhole(t *testing.T) {
	year := Notified{ID: "n-y", PeriodStart: "2026-01-01", PeriodEnd: "2026-12-31", Supplier: "China", Quantity: 100, Unit: Barrel, Source: "http://x"}
	month := Notified{ID: "n-m", PeriodStart: "2026-06-01", PeriodEnd: "2026-06-30", Supplier: "China", Quantity: 5000, Unit: Barrel, Source: "http://x"}
	got, err := Covered(context.Background(), []Notified{year, month}, DefaultFactors())
	if err != nil {
		t.Fatal(err)
	}
	if got["n-m"].By != "" || !strings.Contains(got["n-m"].Why, "not a part of it") {
		t.Errorf("month: %+v", got["n-m"])
	}
	month.Quantity = 50
	got, _ = Covered(context.Background(), []Notified{year, month}, DefaultFactors())
	if got["n-m"].By != "n-y" || !strings.Contains(got["n-m"].Why, "within n-y") {
		t.Errorf("month: %+v", got["n-m"])
	}
}

func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, 2026, benchRecords(5000, false), nil, nil, nil, DefaultFactors()); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "1000": 1000, "1,000": 1000, "1,000.5": 1000.5, "12,345,678": 12345678, "0.5": 0.5, ".5": 0.5, "0.500": 0.5, "1000.5": 1000.5, "1.0": 1, "1.5": 1.5, "12.3456": 12.3456, " 48430 ": 48430} {
		got, err := ParseNumber("quantity", in, true)
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1.000,5", "1,5", "1.000.000", "1.000", "12.345", "1,00", "10,0000", "1e3", "Inf", "NaN", "-5", "1 000", "0x10", "1.", ",5", "1,,000"} {
		if got, err := ParseNumber("quantity", in, true); err == nil {
			t.Errorf("%q read as %v", in, got)
		} else if !strings.Contains(err.Error(), `quantity "`+in+`"`) {
			t.Errorf("%q: %v", in, err)
		}
	}
	// A negative figure is refused as one, not as "not a number".
	for _, in := range []string{"-7", "-7.5", "-1,000", "-0.5"} {
		if _, err := ParseNumber("factor", in, true); err == nil || !strings.Contains(err.Error(), `factor "`+in+`": must be positive`) {
			t.Errorf("%q: %v", in, err)
		}
	}
	for _, in := range []string{"--7", "-", "- 7", "-x"} {
		if _, err := ParseNumber("factor", in, true); err == nil || !strings.Contains(err.Error(), "not a number") {
			t.Errorf("%q: %v", in, err)
		}
	}
	// A factor is never in thousands: 7.230 is plain, a comma is refused.
	if v, err := ParseNumber("factor", "7.230", false); err != nil || v != 7.23 {
		t.Errorf("factor 7.230: %v %v", v, err)
	}
	if _, err := ParseNumber("factor", "7,23", false); err == nil {
		t.Error("factor 7,23 read")
	}
}

// The tester's European number: refused with its line, not read as 1.0005.
func TestParseNotifiedCSVEuropeanNumber(t *testing.T) {
	in := "period_start,period_end,supplier,quantity,unit,source\n2026-03-01,2026-03-31,China,\"1.000,5\",t,http://a\n2026-04-01,2026-04-30,China,\"1,000.5\",t,http://a\n"
	recs, bad, err := ParseNotifiedCSV(strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Quantity != 1000.5 {
		t.Errorf("records: %+v", recs)
	}
	if len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Reason, "European") {
		t.Errorf("bad rows: %+v", bad)
	}
	if _, _, err := ParseNotifiedCSV(strings.NewReader(""), nil); err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty: %v", err)
	}
}

func TestMessages(t *testing.T) {
	n := Notified{PeriodStart: "2024-01-01", PeriodEnd: "2024-06-30", Supplier: "China", Quantity: 2e12, Unit: Tonne, Source: "https://example.org"}
	if err := n.Validate(); err == nil || !strings.Contains(err.Error(), "quantity 2000000000000: at most 1,000,000,000,000") {
		t.Errorf("above the maximum: %v", err)
	}
	for _, u := range []string{"tons", "ton", "short tons"} {
		if _, err := ParseUnit(u); err == nil || !strings.Contains(err.Error(), "metric tons") {
			t.Errorf("unit %s: %v", u, err)
		}
	}
	for _, u := range []string{"t", "tonnes", "metric tons", "MT"} {
		if got, err := ParseUnit(u); err != nil || got != Tonne {
			t.Errorf("unit %s: %v %v", u, got, err)
		}
	}
	in := "period_start,period_end,supplier,quantity,unit,source\n2024-01-01,2024-01-31,China\n2024-02-01,2024-02-29,China,1,000,t,http://a\n"
	_, bad, err := ParseNotifiedCSV(strings.NewReader(in), nil)
	if err != nil || len(bad) != 2 || !strings.Contains(bad[0].Reason, "too few fields: 3, the header has 6") || bad[0].Line != 2 ||
		!strings.Contains(bad[1].Reason, "too many") || bad[1].Line != 3 {
		t.Errorf("field counts: %v %+v", err, bad)
	}
}

// TestFigure: a figure as stored, with its decimals and thousands
// separators, never rounded; a record's barrels likewise when they are
// the source's, to the barrel when computed.
func TestFigure(t *testing.T) {
	for v, want := range map[float64]string{0.5: "0.5", 1: "1", 999: "999", 1000: "1,000", 1000.25: "1,000.25", 12345678.125: "12,345,678.125", -1500.5: "-1,500.5", 1e12: "1,000,000,000,000", 0: "0"} {
		if got := Figure(v); got != want {
			t.Errorf("Figure(%v) = %q, want %q", v, got, want)
		}
	}
	fs := Factors{"gas_diesel_oil": {Product: "gas_diesel_oil", BblPerTonne: 7.23, Low: 7.23, High: 7.23}}
	for _, c := range []struct {
		n    Notified
		want string
	}{
		{Notified{Quantity: 0.5, Unit: Barrel}, "0.5"},
		{Notified{Quantity: 2, Unit: Tonne, BarrelsAsPublished: 14.6}, "14.6"},
		{Notified{Quantity: 1000.25, Unit: Tonne, Product: "gas_diesel_oil"}, "7,232"},
	} {
		if got := BarrelsText(c.n, Convert(c.n, fs)); got != c.want {
			t.Errorf("%+v: %q, want %q", c.n, got, c.want)
		}
	}
}
