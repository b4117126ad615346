package geo

import "testing"

// The land polygons agree with the land grid: a point inside Korea's
// polygon is land, the Yellow Sea is in none, and every ring is closed.
func TestLandPolygons(t *testing.T) {
	polys, err := LandPolygons()
	if err != nil {
		t.Fatal(err)
	}
	if len(polys) < 1000 {
		t.Fatalf("%d polygons: want the thousands of Natural Earth 1:10m", len(polys))
	}
	in := func(lat, lon float64) bool {
		for _, p := range polys {
			if inRing(Point{Lat: lat, Lon: lon}, p[0]) {
				hole := false
				for _, h := range p[1:] {
					hole = hole || inRing(Point{Lat: lat, Lon: lon}, h)
				}
				if !hole {
					return true
				}
			}
		}
		return false
	}
	if !in(39.0, 125.75) { // Pyongyang
		t.Error("Pyongyang is not in a land polygon")
	}
	if in(36.0, 123.0) { // Yellow Sea
		t.Error("the Yellow Sea is in a land polygon")
	}
	for i, p := range polys {
		for _, r := range p {
			if r[0] != r[len(r)-1] {
				t.Fatalf("polygon %d: ring not closed (%v ... %v)", i, r[0], r[len(r)-1])
			}
		}
	}
	ports, err := LoadPorts()
	if err != nil {
		t.Fatal(err)
	}
	got := ports.Within(38.6, 125.0, 38.9, 125.5, "wpi", 0)
	found := false
	for _, p := range got {
		found = found || p.DPRK
	}
	if !found {
		t.Errorf("no DPRK port in a box around Nampo: %v", got)
	}
}
