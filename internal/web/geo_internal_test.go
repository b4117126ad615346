package web

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/internal/app"
)

// A ring crossing the box is cut to it: every point inside, the corner
// inside the ring kept, the ring closed.
func TestClipRing(t *testing.T) {
	sq := []geo.Point{{Lat: 0, Lon: 0}, {Lat: 0, Lon: 10}, {Lat: 10, Lon: 10}, {Lat: 10, Lon: 0}, {Lat: 0, Lon: 0}}
	got := clip(sq, 5, 5, 20, 20)
	if len(got) < 4 || got[0] != got[len(got)-1] {
		t.Fatalf("clipped ring %v: want a closed ring", got)
	}
	area := 0.0
	for i := 0; i+1 < len(got); i++ {
		p := got[i]
		if p.Lat < 5-1e-9 || p.Lat > 20+1e-9 || p.Lon < 5-1e-9 || p.Lon > 20+1e-9 {
			t.Errorf("point %v outside the box", p)
		}
		area += got[i].Lon*got[i+1].Lat - got[i+1].Lon*got[i].Lat
	}
	if math.Abs(math.Abs(area/2)-25) > 1e-9 {
		t.Errorf("clipped area %.3f, want 25 (the 5x5 overlap)", math.Abs(area/2))
	}
	if got := clip(sq, 50, 50, 60, 60); got != nil {
		t.Errorf("a ring outside the box gave %v", got)
	}
}

// The land served for a view: the Yellow Sea box at zoom 5 holds Korea
// and China's coast, as one GeoJSON feature, with fewer points than at
// zoom 9.
func TestLandGeoJSON(t *testing.T) {
	g := newGeoCache(app.New(app.Config{}))
	count := func(z int) int {
		b, err := g.landGeoJSON(30, 118, 42, 132, z)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates [][][][]float64 `json:"coordinates"`
			} `json:"geometry"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("zoom %d: not GeoJSON: %v (%.200s)", z, err, b)
		}
		n := 0
		for _, poly := range f.Geometry.Coordinates {
			for _, ring := range poly {
				for _, p := range ring {
					if p[0] < 118-1e-6 || p[0] > 132+1e-6 || p[1] < 30-1e-6 || p[1] > 42+1e-6 {
						t.Fatalf("zoom %d: point %v outside the box", z, p)
					}
					n++
				}
			}
		}
		return n
	}
	lo, hi := count(5), count(9)
	if lo < 100 || hi <= lo*2 {
		t.Errorf("points at zoom 5: %d, at zoom 9: %d; want land at both and far fewer at 5", lo, hi)
	}
}

func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"30,120,40,130", "-90,-180,90,180", "1,2", "a,b,c,d", "NaN,0,1,1", "1e999,0,1,1", "10,170,20,-170", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBBox(s)
		if err != nil {
			if !strings.Contains(err.Error(), "bbox") {
				t.Errorf("error %q does not name the bbox", err)
			}
			return
		}
		if b.South > b.North || b.South < -90 || b.North > 90 || math.IsNaN(b.West+b.East) {
			t.Errorf("%q gave %+v", s, b)
		}
	})
}
