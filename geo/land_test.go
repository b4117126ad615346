package geo

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestDistance(t *testing.T) {
	// Nampo (38.73N 125.38E) to Pyongyang (39.02N 125.75E): about 45 km.
	d := Distance(38.73, 125.38, 39.02, 125.75)
	if d < 43000 || d > 47000 {
		t.Errorf("Nampo-Pyongyang %f m", d)
	}
	// One degree of latitude is 111.2 km.
	if d := Distance(0, 0, 1, 0); math.Abs(d-111195) > 100 {
		t.Errorf("1 degree %f", d)
	}
	if Distance(10, 179.9, 10, -179.9) > 25000 {
		t.Error("antimeridian")
	}
}

// TestDistanceBound checks the bound the tracker relies on to skip the
// haversine: it must never be below the true distance, anywhere, including
// across the antimeridian and near the poles.
func TestDistanceBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		lat1, lon1 := rng.Float64()*180-90, rng.Float64()*360-180
		lat2, lon2 := lat1+rng.NormFloat64()*math.Pow(10, float64(rng.IntN(4))-2), lon1+rng.NormFloat64()*math.Pow(10, float64(rng.IntN(4))-2)
		if i%2 == 0 {
			lat2, lon2 = rng.Float64()*180-90, rng.Float64()*360-180
		}
		lat2 = math.Max(-90, math.Min(90, lat2))
		if lon2 > 180 {
			lon2 -= 360
		}
		if lon2 < -180 {
			lon2 += 360
		}
		d, b := Distance(lat1, lon1, lat2, lon2), DistanceBound(lat1, lon1, lat2, lon2)
		if b < d*(1-1e-12) {
			t.Fatalf("(%f,%f)-(%f,%f): bound %f below distance %f", lat1, lon1, lat2, lon2, b, d)
		}
	}
	// Across the antimeridian the bound takes the short way round.
	if b := DistanceBound(10, 179.9, 10, -179.9); b > 25000 {
		t.Errorf("antimeridian bound %f", b)
	}
	// The bound is tight along a meridian.
	if b, d := DistanceBound(0, 0, 1, 0), Distance(0, 0, 1, 0); math.Abs(b-d) > 1e-6 {
		t.Errorf("meridian: bound %f, distance %f", b, d)
	}
}

func TestLand(t *testing.T) {
	start := time.Now()
	l, err := LoadLand()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("land: %d segments, built in %s", l.Segments(), time.Since(start))
	cases := []struct {
		name     string
		lat, lon float64
		land     bool
	}{
		{"Pyongyang", 39.02, 125.75, true},
		{"Korea Bay off Nampo", 38.55, 124.9, false},
		{"Yellow Sea", 36.0, 123.5, false},
		{"Beijing", 39.9, 116.4, true},
		{"Shanghai inland", 31.2, 121.2, true},
		{"East China Sea", 30.5, 124.0, false},
		{"Skagen anchorage", 57.75, 10.7, false},
		{"Copenhagen", 55.68, 12.50, true},
		{"central Australia", -25, 134, true},
		{"Indian Ocean", -20, 80, false},
		{"Pacific", 0, -150, false},
		{"Antarctica", -80, 0, true},
		{"Sahara", 23, 13, true},
		{"Gulf of Tonkin", 20.0, 107.5, false},
		{"Vladivostok", 43.13, 131.95, true},
	}
	for _, c := range cases {
		if got := l.OnLand(c.lat, c.lon); got != c.land {
			t.Errorf("%s (%v,%v): on land %v, want %v", c.name, c.lat, c.lon, got, c.land)
		}
	}
	// Distance to shore: a point in mid-Pacific is far; the Skagen
	// anchorage is within a few nautical miles; 50 nm offshore Nampo.
	if d := l.DistanceToShore(0, -150, 2e6); d < 500000 {
		t.Errorf("mid-Pacific %f m from shore", d)
	}
	if d := l.DistanceToShore(57.75, 10.7, 2e6); d > 15000 {
		t.Errorf("Skagen anchorage %f m from shore", d)
	}
	if d := l.DistanceToShore(38.0, 123.5, 2e6); d < 40000 || d > 200000 {
		t.Errorf("Yellow Sea %f m from shore", d)
	}
}

func BenchmarkOnLand(b *testing.B) {
	l, _ := LoadLand()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		lat := float64(i%160) - 80 + 0.37
		lon := float64(i%359) - 179.5 + 0.11
		l.OnLand(lat, lon)
		i++
	}
}

func BenchmarkDistanceToShore(b *testing.B) {
	l, _ := LoadLand()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Coastal and offshore points of the seas that matter here.
		lat := 30 + float64(i%100)*0.1
		lon := 120 + float64(i%70)*0.1
		l.DistanceToShore(lat, lon, 200*NauticalMile)
		i++
	}
}
