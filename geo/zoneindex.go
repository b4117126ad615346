package geo

import (
	"math"
	"math/bits"
)

// ZoneIndex answers "which zones contain this point" for up to 64 zones
// with one grid lookup for most points. Every fix of every ship asks it,
// and most fixes are far from any zone boundary: a cell of the grid that
// no boundary crosses is wholly inside or wholly outside each zone, worked
// out once from its centre. Only points in cells a boundary crosses are
// tested against those zones' polygons. The answers are exactly
// Zone.Contains's (TestZoneIndexAgreesWithContains).
type ZoneIndex struct {
	zones                  []*Zone
	minLat, minLon, cellDg float64
	w, h                   int
	// cells holds an index into kinds per cell, so the grid is a byte a
	// cell (a few tens of KB for the built-in zones) and stays in cache.
	cells []uint8
	kinds []cellKind
}

type cellKind struct {
	in      uint64 // zones wholly containing the cell
	partial uint64 // zones whose boundary may cross it: test the point
}

// maxZoneIndexCells bounds the grid: zones spread over a wider area get
// coarser cells.
const maxZoneIndexCells = 1 << 21

// NewZoneIndex indexes the first 64 zones (Mask's bits); it returns nil
// when there are none, or when the zones' boundaries cut the grid into
// more than 255 kinds of cell (then callers test each zone).
func NewZoneIndex(zones []*Zone) *ZoneIndex {
	if len(zones) > 64 {
		zones = zones[:64]
	}
	if len(zones) == 0 {
		return nil
	}
	ix := &ZoneIndex{zones: zones, cellDg: 0.1}
	minLat, minLon, maxLat, maxLon := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, z := range zones {
		minLat, minLon = math.Min(minLat, z.minLat), math.Min(minLon, z.minLon)
		maxLat, maxLon = math.Max(maxLat, z.maxLat), math.Max(maxLon, z.maxLon)
	}
	if math.IsInf(minLat, 0) {
		return nil // zones without polygons
	}
	for {
		ix.minLat, ix.minLon = minLat-ix.cellDg, minLon-ix.cellDg
		ix.h = int((maxLat-ix.minLat)/ix.cellDg) + 2
		ix.w = int((maxLon-ix.minLon)/ix.cellDg) + 2
		if ix.w*ix.h <= maxZoneIndexCells {
			break
		}
		ix.cellDg *= 2
	}
	cell := make([]cellKind, ix.w*ix.h)
	for bit, z := range zones {
		m := uint64(1) << uint(bit)
		// Every cell a boundary edge passes through, found by walking the
		// edge in steps shorter than a cell and marking the cells around
		// each step (a margin keeps points on a cell's edge covered).
		for _, poly := range z.polys {
			for _, ring := range poly {
				for i := range ring {
					a, b := ring[i], ring[(i+1)%len(ring)]
					steps := int(math.Max(math.Abs(b.Lat-a.Lat), math.Abs(b.Lon-a.Lon))/(ix.cellDg/2)) + 1
					for s := 0; s < steps; s++ {
						t0, t1 := float64(s)/float64(steps), float64(s+1)/float64(steps)
						la0, lo0 := a.Lat+(b.Lat-a.Lat)*t0, a.Lon+(b.Lon-a.Lon)*t0
						la1, lo1 := a.Lat+(b.Lat-a.Lat)*t1, a.Lon+(b.Lon-a.Lon)*t1
						x0, y0 := ix.cellOf(math.Min(la0, la1)-1e-7, math.Min(lo0, lo1)-1e-7)
						x1, y1 := ix.cellOf(math.Max(la0, la1)+1e-7, math.Max(lo0, lo1)+1e-7)
						for y := y0; y <= y1; y++ {
							for x := x0; x <= x1; x++ {
								cell[y*ix.w+x].partial |= m
							}
						}
					}
				}
			}
		}
		// The other cells in the zone's box are uniform: the centre says.
		x0, y0 := ix.cellOf(z.minLat, z.minLon)
		x1, y1 := ix.cellOf(z.maxLat, z.maxLon)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				c := &cell[y*ix.w+x]
				if c.partial&m != 0 {
					continue
				}
				lat := ix.minLat + (float64(y)+0.5)*ix.cellDg
				lon := ix.minLon + (float64(x)+0.5)*ix.cellDg
				if z.Contains(lat, lon) {
					c.in |= m
				}
			}
		}
	}
	ids := map[cellKind]uint8{{}: 0}
	ix.kinds = []cellKind{{}}
	ix.cells = make([]uint8, len(cell))
	for i, c := range cell {
		id, ok := ids[c]
		if !ok {
			if len(ix.kinds) == 256 {
				return nil
			}
			id = uint8(len(ix.kinds))
			ids[c] = id
			ix.kinds = append(ix.kinds, c)
		}
		ix.cells[i] = id
	}
	return ix
}

// cellOf returns the grid cell of a point, clamped to the grid.
func (ix *ZoneIndex) cellOf(lat, lon float64) (x, y int) {
	x = min(max(int(math.Floor((lon-ix.minLon)/ix.cellDg)), 0), ix.w-1)
	y = min(max(int(math.Floor((lat-ix.minLat)/ix.cellDg)), 0), ix.h-1)
	return x, y
}

// Mask returns the zones containing the point: bit i for the index's
// zone i.
func (ix *ZoneIndex) Mask(lat, lon float64) uint64 {
	fx := (lon - ix.minLon) / ix.cellDg
	fy := (lat - ix.minLat) / ix.cellDg
	if !(fx >= 0 && fy >= 0 && fx < float64(ix.w) && fy < float64(ix.h)) {
		return 0 // outside every zone's box (NaN too)
	}
	k := ix.kinds[ix.cells[int(fy)*ix.w+int(fx)]]
	in := k.in
	for p := k.partial; p != 0; p &= p - 1 {
		i := bits.TrailingZeros64(p)
		if ix.zones[i].Contains(lat, lon) {
			in |= 1 << uint(i)
		}
	}
	return in
}
