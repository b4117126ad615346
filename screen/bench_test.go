package screen

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"math/rand"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/sanctions/snapshot"
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

// BenchmarkIndexStart compares the ways a server can get its index at
// start, on the embedded lists: "json" is what it did before the index
// cache (decode each list version's entities from the store's JSON on
// every core, merge, build the index), "gob" the standard library's
// encoding of the merged entities (the index is still built), "binary"
// the index encoding (screen/codec.go) the cache holds.
func BenchmarkIndexStart(b *testing.B) {
	res := sanctions.LoadFiles(snapshot.Files())
	latest := sanctions.Latest(res.Datasets)
	var rows [][][]byte // per version, one JSON record per entity
	for _, d := range latest {
		var rs [][]byte
		for _, e := range d.Entities {
			j, err := json.Marshal(e)
			if err != nil {
				b.Fatal(err)
			}
			rs = append(rs, j)
		}
		rows = append(rows, rs)
	}
	merged := sanctions.Merge(latest...)
	ix := NewIndex(merged)
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ds := make([]*sanctions.Dataset, len(rows))
			var wg sync.WaitGroup
			for i, rs := range rows {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ents := make([]*sanctions.Entity, len(rs))
					workers := runtime.GOMAXPROCS(0)
					var inner sync.WaitGroup
					for w := range workers {
						inner.Add(1)
						go func() {
							defer inner.Done()
							for j := w; j < len(rs); j += workers {
								if err := json.Unmarshal(rs[j], &ents[j]); err != nil {
									panic(err)
								}
							}
						}()
					}
					inner.Wait()
					ds[i] = &sanctions.Dataset{Version: latest[i].Version, Entities: ents}
				}()
			}
			wg.Wait()
			NewIndex(sanctions.Merge(ds...))
		}
	})
	b.Run("gob", func(b *testing.B) {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(merged); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var ents []*sanctions.Entity
			if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&ents); err != nil {
				b.Fatal(err)
			}
			NewIndex(ents)
		}
	})
	b.Run("binary", func(b *testing.B) {
		data, err := ix.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UnmarshalIndex(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIndexEncode is what writing the cache costs after a build.
func BenchmarkIndexEncode(b *testing.B) {
	ix, _ := embeddedIndex(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ix.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}
