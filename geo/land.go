package geo

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
)

// ne_land-10m.topo.json.gz is Natural Earth 1:10m land (public domain) as
// TopoJSON from the npm package world-atlas@2.0.2 (land-10m.json, ISC),
// gzip-compressed; see geo/SOURCES.md.
//
//go:embed data/ne_land-10m.topo.json.gz
var landTopo []byte

// cellDeg is the land grid's cell size. A quarter degree keeps the grid at
// a million cells (1 MB of states) while most cells are pure land or water
// and the mixed ones hold a few dozen coastline segments.
const cellDeg = 0.25

const (
	gridW = int(360 / cellDeg)
	gridH = int(180 / cellDeg)
)

// Land answers point-on-land and distance-to-shore queries from a grid
// over the coastline: each cell is water, land, or mixed with the list of
// coastline segments crossing it and the land state of its south-west
// corner. A point in a mixed cell is on land when the number of segments
// crossing the line from that corner to it has the right parity, so no
// query scans more than one cell's segments. Build it once (LoadLand) and
// share it: it is read-only.
type Land struct {
	segs   []segment
	state  []uint8   // per cell: stateWater, stateLand or stateMixed
	corner []bool    // per cell: is its south-west corner on land
	cells  [][]int32 // per mixed cell: segment indices
}

type segment struct {
	a, b Point
}

const (
	stateWater uint8 = iota
	stateLand
	stateMixed
)

var (
	landOnce sync.Once
	landVal  *Land
	landErr  error
)

// LoadLand parses the embedded Natural Earth land once per process.
func LoadLand() (*Land, error) {
	landOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(landTopo))
		if err != nil {
			landErr = err
			return
		}
		landVal, landErr = landFromTopoJSON(zr)
	})
	return landVal, landErr
}

type topology struct {
	Type      string `json:"type"`
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects map[string]struct {
		Type       string `json:"type"`
		Geometries []struct {
			Type string          `json:"type"`
			Arcs json.RawMessage `json:"arcs"`
		} `json:"geometries"`
	} `json:"objects"`
}

// landFromTopoJSON builds the grid from a TopoJSON topology of land
// polygons. Only the rings' edges matter for the grid, so arcs are used
// once each, whatever polygon refers to them.
func landFromTopoJSON(r io.Reader) (*Land, error) {
	var t topology
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return nil, fmt.Errorf("land topology: %w", err)
	}
	if t.Type != "Topology" || len(t.Arcs) == 0 {
		return nil, fmt.Errorf("land topology: not a TopoJSON topology with arcs")
	}
	l := &Land{}
	for _, arc := range t.Arcs {
		var x, y float64
		var prev Point
		for i, p := range arc {
			if t.Transform != nil {
				x += p[0] // quantized arcs are delta-encoded
				y += p[1]
				p = [2]float64{x*t.Transform.Scale[0] + t.Transform.Translate[0], y*t.Transform.Scale[1] + t.Transform.Translate[1]}
			}
			pt := Point{Lat: p[1], Lon: p[0]}
			if i > 0 && pt != prev {
				l.segs = append(l.segs, segment{prev, pt})
			}
			prev = pt
		}
	}
	l.build()
	return l, nil
}

func cellOf(lat, lon float64) (int, int) {
	x := int(math.Floor((lon + 180) / cellDeg))
	y := int(math.Floor((lat + 90) / cellDeg))
	return min(max(x, 0), gridW-1), min(max(y, 0), gridH-1)
}

func (l *Land) build() {
	n := gridW * gridH
	l.state = make([]uint8, n)
	l.corner = make([]bool, n)
	l.cells = make([][]int32, n)
	// Each segment goes into every cell its bounding box touches: segments
	// are short (Natural Earth 10m), so this over-covers very little.
	for i, s := range l.segs {
		x0, y0 := cellOf(math.Min(s.a.Lat, s.b.Lat), math.Min(s.a.Lon, s.b.Lon))
		x1, y1 := cellOf(math.Max(s.a.Lat, s.b.Lat), math.Max(s.a.Lon, s.b.Lon))
		if x1-x0 > gridW/2 { // crosses the antimeridian: a seam segment, not a coast
			continue
		}
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				c := y*gridW + x
				l.cells[c] = append(l.cells[c], int32(i))
			}
		}
	}
	// Corner states by scanline: along each grid latitude, the crossings
	// of the coastline, sorted, switch between water and land.
	rows := make([][]float64, gridH)
	for _, s := range l.segs {
		a, b := s.a, s.b
		if a.Lat == b.Lat {
			continue
		}
		if a.Lat > b.Lat {
			a, b = b, a
		}
		// Grid lines lat = -90 + k*cellDeg with a.Lat <= line < b.Lat.
		k0 := int(math.Ceil((a.Lat + 90) / cellDeg))
		for k := k0; k < gridH; k++ {
			lat := -90 + float64(k)*cellDeg
			if lat >= b.Lat {
				break
			}
			if lat < a.Lat {
				continue
			}
			f := (lat - a.Lat) / (b.Lat - a.Lat)
			rows[k] = append(rows[k], a.Lon+f*(b.Lon-a.Lon))
		}
	}
	for k := 0; k < gridH; k++ {
		xs := rows[k]
		sort.Float64s(xs)
		inside := false
		j := 0
		for x := 0; x < gridW; x++ {
			lon := -180 + float64(x)*cellDeg
			for j < len(xs) && xs[j] < lon {
				inside = !inside
				j++
			}
			l.corner[k*gridW+x] = inside
		}
	}
	for c := 0; c < n; c++ {
		if len(l.cells[c]) > 0 {
			l.state[c] = stateMixed
		} else if l.corner[c] {
			l.state[c] = stateLand
		}
	}
}

// OnLand reports whether the point is on land.
func (l *Land) OnLand(lat, lon float64) bool {
	x, y := cellOf(lat, lon)
	c := y*gridW + x
	switch l.state[c] {
	case stateWater:
		return false
	case stateLand:
		return true
	}
	// Parity of crossings between the cell's south-west corner and p.
	o := Point{Lat: -90 + float64(y)*cellDeg, Lon: -180 + float64(x)*cellDeg}
	p := Point{Lat: lat, Lon: lon}
	inside := l.corner[c]
	for _, si := range l.cells[c] {
		s := l.segs[si]
		if segmentsCross(o, p, s.a, s.b) {
			inside = !inside
		}
	}
	return inside
}

// segmentsCross reports a proper crossing of p1-p2 and p3-p4. Touching at
// an end counts once by the half-open rule on the second segment, so a
// path through a vertex shared by two coastline segments crosses once.
func segmentsCross(p1, p2, p3, p4 Point) bool {
	d1 := orient(p3, p4, p1)
	d2 := orient(p3, p4, p2)
	d3 := orient(p1, p2, p3)
	d4 := orient(p1, p2, p4)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 <= 0) || (d3 < 0 && d4 >= 0)) {
		return true
	}
	return false
}

func orient(a, b, c Point) float64 {
	return (b.Lon-a.Lon)*(c.Lat-a.Lat) - (b.Lat-a.Lat)*(c.Lon-a.Lon)
}

// DistanceToShore is the distance in metres from the point to the nearest
// coastline, searching cells outwards ring by ring until no nearer segment
// can exist. It gives up beyond maxMetres and returns maxMetres then (the
// detectors only ask "more than N nautical miles?").
func (l *Land) DistanceToShore(lat, lon, maxMetres float64) float64 {
	x0, y0 := cellOf(lat, lon)
	p := Point{Lat: lat, Lon: lon}
	best := math.Inf(1)
	// A ring r cells out is at least (r-1) cells of latitude away.
	cellM := cellDeg * math.Pi / 180 * EarthRadius
	for r := 0; ; r++ {
		if float64(r-1)*cellM*math.Max(0.05, math.Cos(math.Min(89, math.Abs(lat)+float64(r)*cellDeg)*math.Pi/180)) > math.Min(best, maxMetres) {
			break
		}
		if r > gridH {
			break
		}
		for y := y0 - r; y <= y0+r; y++ {
			if y < 0 || y >= gridH {
				continue
			}
			for x := x0 - r; x <= x0+r; x++ {
				if r > 0 && y != y0-r && y != y0+r && x != x0-r && x != x0+r {
					continue // inside the ring: done already
				}
				c := y*gridW + ((x%gridW)+gridW)%gridW
				for _, si := range l.cells[c] {
					s := l.segs[si]
					if d := segDistance(p, s.a, s.b); d < best {
						best = d
					}
				}
			}
		}
	}
	return math.Min(best, maxMetres)
}

// Segments is the number of coastline segments indexed.
func (l *Land) Segments() int { return len(l.segs) }

// Coastline calls fn for every coastline segment with a point inside the
// box, once each, for drawing maps. It reads only the grid cells the box
// covers.
func (l *Land) Coastline(minLat, minLon, maxLat, maxLon float64, fn func(a, b Point)) {
	x0, y0 := cellOf(minLat, minLon)
	x1, y1 := cellOf(maxLat, maxLon)
	seen := map[int32]bool{}
	in := func(p Point) bool { return p.Lat >= minLat && p.Lat <= maxLat && p.Lon >= minLon && p.Lon <= maxLon }
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			for _, i := range l.cells[y*gridW+x] {
				if seen[i] {
					continue
				}
				seen[i] = true
				s := l.segs[i]
				if in(s.a) || in(s.b) {
					fn(s.a, s.b)
				}
			}
		}
	}
}
