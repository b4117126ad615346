package geo

import (
	"math/rand"
	"strings"
	"testing"
)

// The index gives exactly what testing every zone gives: at random points
// over the zones' area and at points a hair either side of every boundary
// vertex and edge midpoint, for the built-in zones plus user zones with a
// hole, a sliver and a diagonal edge.
func TestZoneIndexAgreesWithContains(t *testing.T) {
	zones, err := BuiltinZones()
	if err != nil {
		t.Fatal(err)
	}
	user, err := ParseZones(strings.NewReader(`{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"name":"ring"},"geometry":{"type":"Polygon","coordinates":[
   [[122,30],[126,30],[126,34],[122,34],[122,30]],[[123,31],[125,31],[125,33],[123,33],[123,31]]]}},
 {"type":"Feature","properties":{"name":"sliver"},"geometry":{"type":"Polygon","coordinates":[
   [[120,25],[120.004,25],[120.004,29],[120,29],[120,25]]]}},
 {"type":"Feature","properties":{"name":"diagonal"},"geometry":{"type":"Polygon","coordinates":[
   [[110,20],[118.3,27.7],[110.5,27.9],[110,20]]]}}]}`), "user")
	if err != nil {
		t.Fatal(err)
	}
	zones = append(zones, user...)
	ix := NewZoneIndex(zones)
	if ix == nil {
		t.Fatal("no index")
	}
	want := func(lat, lon float64) uint64 {
		var m uint64
		for i, z := range zones {
			if z.Contains(lat, lon) {
				m |= 1 << uint(i)
			}
		}
		return m
	}
	check := func(lat, lon float64) {
		if got, w := ix.Mask(lat, lon), want(lat, lon); got != w {
			t.Fatalf("(%v, %v): index %b, zones %b", lat, lon, got, w)
		}
	}
	rng := rand.New(rand.NewSource(3))
	inside := 0
	for i := 0; i < 300000; i++ {
		lat, lon := 15+rng.Float64()*32, 100+rng.Float64()*40
		check(lat, lon)
		if want(lat, lon) != 0 {
			inside++
		}
	}
	if inside < 10000 {
		t.Fatalf("only %d random points inside a zone", inside)
	}
	for _, z := range zones {
		for _, ring := range z.Rings() {
			for i, p := range ring {
				q := ring[(i+1)%len(ring)]
				for _, d := range []float64{-1e-6, 1e-6, -1e-3, 1e-3, 0} {
					check(p.Lat+d, p.Lon-d)
					check((p.Lat+q.Lat)/2+d, (p.Lon+q.Lon)/2+d)
				}
			}
		}
	}
	check(0, 0)
	check(89, 179)
}

// BenchmarkZoneMask: which built-in zones contain a fix, over the waters
// the simulated traffic crosses, by the index and by testing each zone.
func BenchmarkZoneMask(b *testing.B) {
	zones, _ := BuiltinZones()
	ix := NewZoneIndex(zones)
	rng := rand.New(rand.NewSource(1))
	pts := make([]Point, 4096)
	for i := range pts {
		pts[i] = Point{Lat: 28 + rng.Float64()*14, Lon: 119 + rng.Float64()*9}
	}
	b.Run("index", func(b *testing.B) {
		var sink uint64
		for i := 0; b.Loop(); i++ {
			p := pts[i&4095]
			sink += ix.Mask(p.Lat, p.Lon)
		}
	})
	b.Run("each-zone", func(b *testing.B) {
		n := 0
		for i := 0; b.Loop(); i++ {
			p := pts[i&4095]
			for _, z := range zones {
				if z.Contains(p.Lat, p.Lon) {
					n++
				}
			}
		}
	})
}

// Zones spread over the whole globe get a coarser grid and the same
// answers.
func TestZoneIndexWorldWide(t *testing.T) {
	zones, err := ParseZones(strings.NewReader(`{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"name":"world"},"geometry":{"type":"Polygon","coordinates":[
   [[-180,-90],[180,-90],[180,90],[-180,90],[-180,-90]],[[-10,-10],[10,-10],[10,10],[-10,10],[-10,-10]]]}},
 {"type":"Feature","properties":{"name":"dot"},"geometry":{"type":"Polygon","coordinates":[
   [[170,-50],[170.01,-50],[170.01,-49.99],[170,-49.99],[170,-50]]]}}]}`), "user")
	if err != nil {
		t.Fatal(err)
	}
	ix := NewZoneIndex(zones)
	if ix == nil || ix.w*ix.h > maxZoneIndexCells {
		t.Fatalf("index %v", ix)
	}
	rng := rand.New(rand.NewSource(4))
	for i := 0; i < 50000; i++ {
		lat, lon := -90+rng.Float64()*180, -180+rng.Float64()*360
		if i%10 == 0 {
			lat, lon = -50+rng.Float64()*0.02, 170+rng.Float64()*0.02
		}
		var want uint64
		for j, z := range zones {
			if z.Contains(lat, lon) {
				want |= 1 << uint(j)
			}
		}
		if got := ix.Mask(lat, lon); got != want {
			t.Fatalf("(%v, %v): index %b, zones %b", lat, lon, got, want)
		}
	}
}
