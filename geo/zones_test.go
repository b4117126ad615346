package geo

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestBuiltinZones(t *testing.T) {
	zs, err := BuiltinZones()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Zone{}
	for _, z := range zs {
		byID[z.ID] = z
		if z.Source == "" {
			t.Errorf("zone %s has no source", z.ID)
		}
	}
	if len(zs) != 7 {
		t.Errorf("%d built-in zones", len(zs))
	}
	cases := []struct {
		zone     string
		lat, lon float64
		in       bool
	}{
		{"dprk-territorial-sea", 39.02, 125.75, true},  // Pyongyang
		{"dprk-territorial-sea", 38.72, 125.20, true},  // off Nampo, inside 12 nm
		{"dprk-territorial-sea", 37.57, 126.98, false}, // Seoul
		{"dprk-territorial-sea", 36.0, 123.5, false},   // Yellow Sea
		{"sts-korea-bay-nampo-chodo", 38.5, 124.6, true},
		{"sts-east-china-sea", 30.5, 124.5, true},
		{"sts-east-china-sea", 31.2, 121.5, false}, // Shanghai itself
		{"sts-gulf-of-tonkin", 20.0, 107.5, true},
		{"sts-vostochny-nakhodka", 42.7, 132.9, true},
		{"sts-hangzhou-bay", 30.4, 121.5, true},
		{"sts-lianyungang", 34.8, 120.0, true},
	}
	for _, c := range cases {
		if got := byID[c.zone].Contains(c.lat, c.lon); got != c.in {
			t.Errorf("%s contains (%v,%v) = %v", c.zone, c.lat, c.lon, got)
		}
	}
}

// The project's DPRK waters agree with the DPRK claimed EEZ polygon of
// Park et al. (2020) where the two overlap in meaning: points well inside
// the 12-mile belt of the east coast are in both.
func TestZonesAgainstReferenceBoundaries(t *testing.T) {
	b, err := os.ReadFile("../../shared/data/geo/dprk_boundaries/eez_prk.json")
	if err != nil {
		t.Skip("shared/data/geo not beside the repository")
	}
	ref, err := ParseZones(strings.NewReader(string(b)), "reference")
	if err != nil {
		t.Fatal(err)
	}
	zs, _ := BuiltinZones()
	var dprk *Zone
	for _, z := range zs {
		if z.ID == "dprk-territorial-sea" {
			dprk = z
		}
	}
	// Off Wonsan and off Chongjin, a few miles out: in the EEZ reference
	// and in our territorial-sea zone.
	for _, p := range [][2]float64{{39.2, 127.6}, {41.7, 129.9}} {
		inRef := false
		for _, r := range ref {
			inRef = inRef || r.Contains(p[0], p[1])
		}
		if !inRef || !dprk.Contains(p[0], p[1]) {
			t.Errorf("(%v,%v): reference %v, ours %v", p[0], p[1], inRef, dprk.Contains(p[0], p[1]))
		}
	}
}

func TestParseZonesErrors(t *testing.T) {
	bad := []string{
		`not json`,
		`{"type":"FeatureCollection","features":[]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[1,2]]]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[100,200],[3,4],[5,6],[100,200]]]}}]}`,
	}
	for _, s := range bad {
		if _, err := ParseZones(strings.NewReader(s), "user"); err == nil {
			t.Errorf("accepted %s", s)
		}
	}
	good, _ := json.Marshal(map[string]any{"type": "Feature", "properties": map[string]any{"name": "My box"},
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, {{0.4, 0.4}, {0.6, 0.4}, {0.6, 0.6}, {0.4, 0.6}, {0.4, 0.4}}}}})
	zs, err := ParseZones(strings.NewReader(string(good)), "user")
	if err != nil || len(zs) != 1 || zs[0].Name != "My box" || zs[0].Kind != "user" {
		t.Fatalf("%v %+v", err, zs)
	}
	if !zs[0].Contains(0.2, 0.2) || zs[0].Contains(0.5, 0.5) || zs[0].Contains(2, 2) {
		t.Error("polygon with hole")
	}
}

func FuzzParseZones(f *testing.F) {
	f.Add(string(builtinZones))
	f.Add(`{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}]}}`)
	f.Fuzz(func(t *testing.T, s string) {
		zs, err := ParseZones(strings.NewReader(s), "user")
		if err == nil {
			for _, z := range zs {
				z.Contains(0.5, 0.5)
			}
		}
	})
}
