package geo

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"sync"
)

// Polygon is one land polygon: its outer ring first, then its holes, each
// ring closed (first point repeated last), points as latitude/longitude.
type Polygon [][]Point

var (
	polysOnce sync.Once
	polysVal  []Polygon
	polysErr  error
)

// LandPolygons returns the embedded Natural Earth land as polygons (for
// drawing maps; Land answers point queries). Parsed once per process; the
// result is shared and must not be changed.
func LandPolygons() ([]Polygon, error) {
	polysOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(landTopo))
		if err != nil {
			polysErr = err
			return
		}
		var t topology
		if err := json.NewDecoder(zr).Decode(&t); err != nil {
			polysErr = fmt.Errorf("land topology: %w", err)
			return
		}
		polysVal, polysErr = topoPolygons(&t)
	})
	return polysVal, polysErr
}

// topoPolygons assembles a topology's polygons from its arcs (TopoJSON
// 1.0: arc index ~i is arc i reversed; rings join arcs end to start).
func topoPolygons(t *topology) ([]Polygon, error) {
	arcs := make([][]Point, len(t.Arcs))
	for i, arc := range t.Arcs {
		var x, y float64
		pts := make([]Point, 0, len(arc))
		for _, p := range arc {
			if t.Transform != nil {
				x += p[0]
				y += p[1]
				p = [2]float64{x*t.Transform.Scale[0] + t.Transform.Translate[0], y*t.Transform.Scale[1] + t.Transform.Translate[1]}
			}
			pts = append(pts, Point{Lat: p[1], Lon: p[0]})
		}
		arcs[i] = pts
	}
	ring := func(ids []int) ([]Point, error) {
		var out []Point
		for _, id := range ids {
			rev := id < 0
			if rev {
				id = ^id
			}
			if id < 0 || id >= len(arcs) {
				return nil, fmt.Errorf("land topology: arc %d of %d", id, len(arcs))
			}
			a := arcs[id]
			start := 0
			if len(out) > 0 {
				start = 1 // the joint point is the previous arc's last
			}
			for k := start; k < len(a); k++ {
				if rev {
					out = append(out, a[len(a)-1-k])
				} else {
					out = append(out, a[k])
				}
			}
		}
		return out, nil
	}
	var out []Polygon
	for _, o := range t.Objects {
		for _, g := range o.Geometries {
			var polys [][][]int
			switch g.Type {
			case "Polygon":
				var p [][]int
				if err := json.Unmarshal(g.Arcs, &p); err != nil {
					return nil, fmt.Errorf("land topology: %w", err)
				}
				polys = [][][]int{p}
			case "MultiPolygon":
				if err := json.Unmarshal(g.Arcs, &polys); err != nil {
					return nil, fmt.Errorf("land topology: %w", err)
				}
			default:
				continue
			}
			for _, p := range polys {
				var poly Polygon
				for _, ids := range p {
					r, err := ring(ids)
					if err != nil {
						return nil, err
					}
					if len(r) >= 4 {
						poly = append(poly, r)
					}
				}
				if len(poly) > 0 {
					out = append(out, poly)
				}
			}
		}
	}
	return out, nil
}

// Within returns the ports and anchorage points inside a box (source ""
// for every source, else "wpi" or "gfw-anchorage"), at most limit of them
// (0: all).
func (p *Ports) Within(minLat, minLon, maxLat, maxLon float64, source string, limit int) []Port {
	var out []Port
	for _, q := range p.all {
		if q.Lat < minLat || q.Lat > maxLat || q.Lon < minLon || q.Lon > maxLon || (source != "" && q.Source != source) {
			continue
		}
		out = append(out, q)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}
