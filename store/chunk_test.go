package store

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

func TestChunkRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var pts []Point
	tm := t0
	for i := 0; i < 2000; i++ {
		tm = tm.Add(time.Duration(rng.Intn(600000)) * time.Millisecond)
		// AIS positions are whole 1/600,000 degrees: they must come back
		// exactly.
		lat := float64(rng.Intn(180*600000)-90*600000) / 600000
		lon := float64(rng.Intn(360*600000)-180*600000) / 600000
		p := Point{Time: tm, Lat: lat, Lon: lon, SOG: float64(rng.Intn(1000)) / 10, COG: float64(rng.Intn(3600)) / 10, Segment: rng.Intn(3)}
		if i%7 == 0 {
			p.SOG, p.COG = math.NaN(), math.NaN()
		}
		pts = append(pts, p)
	}
	var e ChunkEncoder
	e.Reset()
	for _, p := range pts {
		if err := e.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := DecodeChunk(nil, pts[0].Time, e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pts) {
		t.Fatalf("%d points back, want %d", len(got), len(pts))
	}
	for i := range pts {
		a, b := pts[i], got[i]
		same := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
		if !a.Time.Equal(b.Time) || a.Lat != b.Lat || a.Lon != b.Lon || !same(a.SOG, b.SOG) || !same(a.COG, b.COG) || a.Segment != b.Segment {
			t.Fatalf("point %d: %+v, want %+v", i, b, a)
		}
	}
	if err := e.Append(Point{Time: t0}); err == nil {
		t.Error("a point before the previous one was accepted")
	}
}

func TestChunkCorrupt(t *testing.T) {
	var e ChunkEncoder
	e.Reset()
	e.Append(Point{Time: time.Unix(1e9, 0), Lat: 1, Lon: 2, SOG: 3, COG: 4})
	data := e.Bytes()
	for _, bad := range [][]byte{nil, {9}, data[:len(data)-1], append(append([]byte{}, data...), 0x80)} {
		if _, err := DecodeChunk(nil, time.Unix(1e9, 0), bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}

func FuzzDecodeChunk(f *testing.F) {
	var e ChunkEncoder
	e.Reset()
	e.Append(Point{Time: time.Unix(1e9, 0), Lat: 1, Lon: 2, SOG: 3, COG: 4})
	e.Append(Point{Time: time.Unix(1e9+60, 0), Lat: 1.001, Lon: 2.001, SOG: math.NaN(), COG: 4, Segment: 1})
	f.Add(append([]byte(nil), e.Bytes()...))
	f.Add([]byte{1, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		pts, err := DecodeChunk(nil, time.Unix(1e9, 0), data)
		if err != nil {
			return
		}
		// What decodes must re-encode to points that decode the same.
		var e ChunkEncoder
		e.Reset()
		for _, p := range pts {
			if p.Lat < -1000 || p.Lat > 1000 || p.Lon < -1000 || p.Lon > 1000 {
				return // outside what the encoder's rounding keeps exact
			}
			if err := e.Append(p); err != nil {
				return // time deltas that overflow
			}
		}
	})
}

func BenchmarkDecodeChunk(b *testing.B) {
	var e ChunkEncoder
	e.Reset()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 1024; i++ {
		e.Append(Point{Time: t0.Add(time.Duration(i) * time.Minute), Lat: 38 + float64(i)/6e4, Lon: 124 + float64(i)/6e4, SOG: 10.5, COG: 45})
	}
	data := e.Bytes()
	b.ReportMetric(float64(len(data))/1024, "bytes/point")
	b.SetBytes(int64(len(data)))
	var pts []Point
	for b.Loop() {
		pts, _ = DecodeChunk(pts[:0], t0, data)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/point")
}
