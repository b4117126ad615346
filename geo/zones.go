package geo

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// zones.geojson holds the built-in zones: DPRK waters (OpenStreetMap) and
// the ship-to-ship transfer areas the UN Panel of Experts and the 2019 US
// advisory describe. Each feature's properties name its source.
//
//go:embed data/zones.geojson
var builtinZones []byte

// Zone is a named area: DPRK waters, an STS hotspot, or a user's zone.
type Zone struct {
	ID                             string
	Name                           string
	Kind                           string // dprk_waters, sts_area, user
	Source                         string
	polys                          [][][]Point // polygons -> rings (first outer, rest holes)
	minLat, minLon, maxLat, maxLon float64
}

// Contains reports whether the point is inside the zone (inside an outer
// ring and outside its holes).
func (z *Zone) Contains(lat, lon float64) bool {
	if lat < z.minLat || lat > z.maxLat || lon < z.minLon || lon > z.maxLon {
		return false
	}
	p := Point{Lat: lat, Lon: lon}
	for _, poly := range z.polys {
		if len(poly) == 0 || !inRing(p, poly[0]) {
			continue
		}
		inHole := false
		for _, h := range poly[1:] {
			if inRing(p, h) {
				inHole = true
				break
			}
		}
		if !inHole {
			return true
		}
	}
	return false
}

// inRing is the even-odd rule by ray casting.
func inRing(p Point, ring []Point) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a, b := ring[i], ring[j]
		if (a.Lat > p.Lat) != (b.Lat > p.Lat) && p.Lon < (b.Lon-a.Lon)*(p.Lat-a.Lat)/(b.Lat-a.Lat)+a.Lon {
			in = !in
		}
	}
	return in
}

// BuiltinZones returns the zones Tidewatch ships with.
func BuiltinZones() ([]*Zone, error) {
	return ParseZones(strings.NewReader(string(builtinZones)), "builtin")
}

// ErrNoZones reports a GeoJSON file with no polygon features.
var ErrNoZones = errors.New("no Polygon or MultiPolygon features")

// maxZoneBytes bounds a user zone file: zones are hand-drawn areas, not
// national coastlines.
const maxZoneBytes = 64 << 20

// ParseZones reads a GeoJSON FeatureCollection (or a single Feature) of
// Polygon, MultiPolygon or GeometryCollection geometries. Properties "id",
// "name", "kind" and "source" are used when present; defaultKind applies
// otherwise. Features without an area are skipped; a file with none is an
// error.
func ParseZones(r io.Reader, defaultKind string) ([]*Zone, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxZoneBytes+1))
	if err != nil {
		return nil, fmt.Errorf("zones: %w", err)
	}
	if len(b) > maxZoneBytes {
		return nil, fmt.Errorf("zones: file larger than %d MB", maxZoneBytes>>20)
	}
	var doc struct {
		Type     string         `json:"type"`
		Features []geoFeature   `json:"features"`
		Geometry *geoGeometry   `json:"geometry"`
		Props    map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("zones: not GeoJSON: %w", err)
	}
	feats := doc.Features
	if doc.Type == "Feature" && doc.Geometry != nil {
		feats = []geoFeature{{Geometry: doc.Geometry, Props: doc.Props}}
	}
	var out []*Zone
	for i, f := range feats {
		if f.Geometry == nil {
			continue
		}
		z := &Zone{Kind: defaultKind, minLat: math.Inf(1), minLon: math.Inf(1), maxLat: math.Inf(-1), maxLon: math.Inf(-1)}
		z.ID = propString(f.Props, "id", fmt.Sprintf("zone-%d", i+1))
		z.Name = propString(f.Props, "name", z.ID)
		z.Kind = propString(f.Props, "kind", defaultKind)
		z.Source = propString(f.Props, "source", "")
		if err := z.addGeometry(f.Geometry, 0); err != nil {
			return nil, fmt.Errorf("zones: feature %d (%s): %w", i+1, z.ID, err)
		}
		if len(z.polys) > 0 {
			out = append(out, z)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("zones: %w", ErrNoZones)
	}
	return out, nil
}

type geoFeature struct {
	Geometry *geoGeometry   `json:"geometry"`
	Props    map[string]any `json:"properties"`
}

type geoGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometries  []geoGeometry   `json:"geometries"`
}

func (z *Zone) addGeometry(g *geoGeometry, depth int) error {
	if depth > 8 {
		return errors.New("geometry collections nested too deep")
	}
	switch g.Type {
	case "Polygon":
		var rings [][][2]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil {
			return fmt.Errorf("polygon coordinates: %w", err)
		}
		return z.addPolygon(rings)
	case "MultiPolygon":
		var polys [][][][2]float64
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return fmt.Errorf("multipolygon coordinates: %w", err)
		}
		for _, p := range polys {
			if err := z.addPolygon(p); err != nil {
				return err
			}
		}
	case "GeometryCollection":
		for i := range g.Geometries {
			if err := z.addGeometry(&g.Geometries[i], depth+1); err != nil {
				return err
			}
		}
	}
	return nil // points and lines have no inside
}

func (z *Zone) addPolygon(rings [][][2]float64) error {
	var poly [][]Point
	for _, r := range rings {
		if len(r) < 4 {
			return fmt.Errorf("ring with %d positions (a closed ring needs 4)", len(r))
		}
		ring := make([]Point, len(r))
		for i, c := range r {
			if c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90 {
				return fmt.Errorf("position [%v, %v] out of range (GeoJSON is [longitude, latitude])", c[0], c[1])
			}
			ring[i] = Point{Lat: c[1], Lon: c[0]}
			z.minLat, z.maxLat = math.Min(z.minLat, c[1]), math.Max(z.maxLat, c[1])
			z.minLon, z.maxLon = math.Min(z.minLon, c[0]), math.Max(z.maxLon, c[0])
		}
		poly = append(poly, ring)
	}
	if len(poly) > 0 {
		z.polys = append(z.polys, poly)
	}
	return nil
}

func propString(m map[string]any, k, def string) string {
	if v, ok := m[k]; ok {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
		if f, ok := v.(float64); ok {
			return fmt.Sprint(f)
		}
	}
	return def
}

// Rings returns the zone's polygon rings (outer rings and holes), for
// drawing.
func (z *Zone) Rings() [][]Point {
	var out [][]Point
	for _, p := range z.polys {
		out = append(out, p...)
	}
	return out
}

// Bounds is the zone's bounding box.
func (z *Zone) Bounds() (minLat, minLon, maxLat, maxLon float64) {
	return z.minLat, z.minLon, z.maxLat, z.maxLon
}
