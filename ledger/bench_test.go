package ledger

import (
	"fmt"
	"testing"
	"time"
)

// benchRecords makes n notified records of one year. distinct: every
// record its own supplier (the tester's import: S0, S1...); otherwise
// three suppliers and a combined figure over many periods and products,
// so records fall within each other.
func benchRecords(n int, distinct bool) []Notified {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	products := []string{"", "motor_gasoline", "gas_diesel_oil", "fuel_oil"}
	sups := []string{"China", "Russia", "China+Russia"}
	out := make([]Notified, n)
	for i := range out {
		r := Notified{ID: fmt.Sprintf("n-%08d", i), Quantity: float64(i%997 + 1), Unit: Tonne, Source: "http://example.org", Created: t0.Add(time.Duration(i) * time.Second)}
		if distinct {
			r.PeriodStart, r.PeriodEnd, r.Supplier, r.Unit = "2027-01-01", "2027-01-31", fmt.Sprintf("S%d", i), Barrel
		} else {
			start := t0.AddDate(0, 0, i%300)
			end := start.AddDate(0, 0, i%60)
			r.PeriodStart, r.PeriodEnd = start.Format("2006-01-02"), end.Format("2006-01-02")
			r.Supplier, r.Product = sups[i%len(sups)], products[(i/3)%len(products)]
		}
		out[i] = r
	}
	return out
}

// BenchmarkBuildYear is a year's ledger of n notified records (no
// estimates): the records within others are found once per call.
func BenchmarkBuildYear(b *testing.B) {
	fs := DefaultFactors()
	for _, distinct := range []bool{true, false} {
		for _, n := range []int{1000, 4000, 20000, 100000} {
			name := fmt.Sprintf("n=%d/distinct=%v", n, distinct)
			recs := benchRecords(n, distinct)
			year := 2026
			if distinct {
				year = 2027
			}
			b.Run(name, func(b *testing.B) {
				if n > 4000 && oldQuadratic {
					b.Skip("quadratic: too slow")
				}
				for b.Loop() {
					y := mustBuild(b, year, recs, nil, nil, nil, fs)
					if len(y.Notified) != n {
						b.Fatalf("%d lines", len(y.Notified))
					}
				}
			})
		}
	}
}

const oldQuadratic = false
