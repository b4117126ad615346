package screen

import (
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
)

// BenchmarkNewIndex builds the index over the merged embedded lists
// (21,604 entities).
func BenchmarkNewIndex(b *testing.B) {
	_, ents := embeddedIndex(b)
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(ents)
	}
}

// vesselQueries are realistic vessel queries: listed names and their
// variants, and real AIS names that are on no list (most of a portfolio).
func vesselQueries(b *testing.B) []Query {
	ix, ents := embeddedIndex(b)
	var qs []Query
	for _, e := range ents {
		if e.Type == sanctions.Vessel && e.IsDPRK() {
			for _, v := range variantsFor(e) {
				qs = append(qs, v.q)
			}
		}
	}
	for _, n := range negativeNames(b, ix) {
		qs = append(qs, Query{Type: "vessel", Name: n})
	}
	rand.New(rand.NewSource(1)).Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	return qs
}

// BenchmarkVesselQuery is one vessel name query, in process, one goroutine.
// It reports p50 and p99 latency over the run.
func BenchmarkVesselQuery(b *testing.B) {
	ix, _ := embeddedIndex(b)
	qs := vesselQueries(b)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if _, err := ix.Search(qs[i%len(qs)], Options{}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkAnyQuery screens names against every type (vessels,
// organizations and persons), the costliest query.
func BenchmarkAnyQuery(b *testing.B) {
	ix, _ := embeddedIndex(b)
	qs := vesselQueries(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		q.Type = "any"
		if _, err := ix.Search(q, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
