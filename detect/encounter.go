package detect

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// Encounters are found on a grid of the latest position of every active
// ship. Cells are 0.05 degrees (5.5 km of latitude, at least 500 m of
// longitude up to 84 degrees), so every ship within 500 m of a fix is in
// the fix's cell or one of its eight neighbours: pairs across any cell
// boundary are found. Every ship type is compared: coal moves on bulk
// carriers, and small DPRK tankers often report no type at all.
const encCellDeg = 0.05

type cellKey struct{ x, y int32 }

func encCell(lat, lon float64) cellKey {
	return cellKey{wrapCellX(int32(math.Floor((lon + 180) / encCellDeg))), int32(math.Floor((lat + 90) / encCellDeg))}
}

// encCellsX is the number of cells around a parallel: the cells east of
// the last (longitude 180) are the first (-180).
const encCellsX = int32(360 / encCellDeg)

// wrapCellX brings a cell column into 0..encCellsX-1 (a neighbour across
// the antimeridian, or longitude 180 itself).
func wrapCellX(x int32) int32 {
	switch {
	case x < 0:
		return x + encCellsX
	case x >= encCellsX:
		return x - encCellsX
	}
	return x
}

// lonDiff is a-b in degrees of longitude the short way round (across the
// antimeridian when that is shorter).
func lonDiff(a, b float64) float64 {
	d := a - b
	switch {
	case d > 180:
		d -= 360
	case d < -180:
		d += 360
	}
	return d
}

// midLon is the longitude halfway between a and b the short way round:
// (a+b)/2, as written, unless they lie across the antimeridian.
func midLon(a, b float64) float64 {
	if d := a - b; d <= 180 && d >= -180 {
		return (a + b) / 2
	}
	m := (a + b + 360) / 2
	if m > 180 {
		m -= 360
	}
	return m
}

type pairKey struct{ a, b segKey }

func (k pairKey) less(o pairKey) bool {
	if k.a != o.a {
		return k.a.mmsi < o.a.mmsi || (k.a.mmsi == o.a.mmsi && k.a.id < o.a.id)
	}
	return k.b.mmsi < o.b.mmsi || (k.b.mmsi == o.b.mmsi && k.b.id < o.b.id)
}

func makePair(x, y segKey) pairKey {
	if y.mmsi < x.mmsi || (y.mmsi == x.mmsi && y.id < x.id) {
		x, y = y, x
	}
	return pairKey{x, y}
}

// pairState is the current window of closeness of two ships, and the last
// qualifying window waiting to see whether the next one merges with it.
// A window qualifies as soon as it has lasted EncounterMinHours with a
// median speed under EncounterMaxMedianKn and its centre away from
// ports (checked at each close pair of fixes from then on): what follows
// cannot undo it, so an open window reported at a checkpoint is always
// reported again when it closes.
type pairState struct {
	start, last track.Time
	samples     int
	latSum      float64
	lonSum      float64
	minDist     float64
	speeds      [301]uint16 // histogram of both ships' speeds, 0.1 kn bins up to 30 kn
	qualified   bool
	pending     *Event
}

func (p *pairState) reset(t track.Time) {
	*p = pairState{start: t, last: t, minDist: math.Inf(1), pending: p.pending}
}

// qualifies checks the current window against the encounter rule.
// meanLon is the window's mean longitude, in -180..180 (a window across
// the antimeridian sums longitudes past it).
func (p *pairState) meanLon() float64 {
	m := p.lonSum / float64(p.samples)
	switch {
	case m > 180:
		m -= 360
	case m < -180:
		m += 360
	}
	return m
}

func (e *Engine) qualifies(p *pairState) bool {
	if p.samples == 0 || p.last.Sub(p.start).Hours() < e.cfg.EncounterMinHours || p.medianSpeed() >= e.cfg.EncounterMaxMedianKn {
		return false
	}
	lat, lon := p.latSum/float64(p.samples), p.meanLon()
	return e.awayFromPort(encCell(lat, lon), lat, lon)
}

func (p *pairState) addSpeed(kn float64) {
	i := int(math.Round(kn * 10))
	p.speeds[min(max(i, 0), 300)]++
}

func (p *pairState) medianSpeed() float64 {
	total := 0
	for _, c := range p.speeds {
		total += int(c)
	}
	half, seen := (total+1)/2, 0
	for i, c := range p.speeds {
		seen += int(c)
		if seen >= half {
			return float64(i) / 10
		}
	}
	return 0
}

// cellEntry is a ship's latest position as the encounter grid sees it.
type cellEntry struct {
	t        track.Time
	lat, lon float64
	speed    float64
}

// The grid is a map from cell to the first of its ships, each linked to
// the next and previous (cellNext, cellPrev): 8 bytes of map value per
// occupied cell, where a slice per cell cost 24 and an allocation, for
// every ship in play (a flood of a million MMSIs at random places fills a
// million cells).

func (e *Engine) removeFromCell(st *segState) {
	if !st.inCell {
		return
	}
	st.inCell = false
	if st.cellPrev != nil {
		st.cellPrev.cellNext = st.cellNext
	} else if st.cellNext != nil {
		e.cells[st.cell] = st.cellNext
	} else {
		delete(e.cells, st.cell)
	}
	if st.cellNext != nil {
		st.cellNext.cellPrev = st.cellPrev
	}
	st.cellPrev, st.cellNext = nil, nil
}

func (e *Engine) addToCell(st *segState, c cellKey) {
	head := e.cells[c]
	st.cell, st.inCell, st.cellPrev, st.cellNext = c, true, nil, head
	if head != nil {
		head.cellPrev = st
	}
	e.cells[c] = st
}

// encounter puts the fix in the grid and, when scan, looks for the ships
// close to it, adding each close pair to the pair's window (found). An
// area worker scans only from the fixes of the cells it owns (area.go).
func (e *Engine) encounter(st *segState, f track.Fix, speed float64, scan bool) {
	c := encCell(f.Lat, f.Lon)
	st.entry = cellEntry{t: f.Time, lat: f.Lat, lon: f.Lon, speed: speed}
	if !st.inCell || st.cell != c {
		e.removeFromCell(st)
		e.addToCell(st, c)
	}
	if !scan {
		return
	}
	// A ship under way at several times the encounter speed cannot be in
	// a transfer now: skip the neighbour scan (slow ships nearby still see
	// it and record the pair with its speed). Most ships are under way, so
	// this is most of the grid's work saved.
	if speed > 3*e.cfg.EncounterMaxMedianKn {
		return
	}
	// Close fixes near a port or anchorage do not count: an encounter
	// there is a berth or an anchorage, never reported. Ships moored side
	// by side would otherwise make a pair for every neighbour at every
	// fix (dense harbours ran detection at a few tens of thousands of
	// fixes a second).
	if !e.awayFromPort(c, f.Lat, f.Lon) {
		return
	}
	fresh := time.Duration(e.cfg.PositionFreshMinutes * float64(time.Minute))
	boxDeg := e.cfg.EncounterMaxMetres * 1.2 / 111000 // degrees of latitude, with margin
	cosLat := math.Cos(f.Lat * math.Pi / 180)
	for dy := int32(-1); dy <= 1; dy++ {
		for dx := int32(-1); dx <= 1; dx++ {
			ck := cellKey{wrapCellX(c.x + dx), c.y + dy}
			var next *segState
			for other := e.cells[ck]; other != nil; other = next {
				next = other.cellNext
				if f.Time.Sub(other.entry.t) > fresh {
					// Stale: the ship left or fell silent. Drop it from the
					// grid so crowded cells stay short.
					e.removeFromCell(other)
					continue
				}
				if other == st || other.key.mmsi == st.key.mmsi {
					continue
				}
				// Cheap box test before the great circle: most neighbours
				// in a busy cell are kilometres away.
				if dl := f.Lat - other.entry.lat; dl > boxDeg || dl < -boxDeg {
					continue
				}
				if dl := lonDiff(f.Lon, other.entry.lon) * cosLat; dl > boxDeg || dl < -boxDeg {
					continue
				}
				d := geo.Distance(f.Lat, f.Lon, other.entry.lat, other.entry.lon)
				if d > e.cfg.EncounterMaxMetres {
					continue
				}
				ct := contact{k: makePair(st.key, other.key), t: f.Time, lat: (f.Lat + other.entry.lat) / 2, lon: midLon(f.Lon, other.entry.lon),
					dist: d, speed: speed, other: other.entry.speed}
				if e.role == roleArea {
					e.sendContact(&ct)
				} else {
					e.applyContact(&ct)
				}
			}
		}
	}
}

// contact is a close pair of fixes: the pair, the scanning fix's time,
// their midpoint, distance and both speeds (the scanning fix's first).
type contact struct {
	k            pairKey
	t            track.Time
	lat, lon     float64
	dist         float64
	speed, other float64
}

// applyContact adds a close pair of fixes to the pair's window: the one
// code of an Engine and a pair worker.
func (e *Engine) applyContact(c *contact) {
	brk := time.Duration(e.cfg.EncounterBreakMinutes * float64(time.Minute))
	p := e.pairs[c.k]
	if p == nil {
		p = &pairState{}
		p.reset(c.t)
		e.pairs[c.k] = p
	} else if c.t.Sub(p.last) > brk {
		e.closePair(c.k, p, false)
		p.reset(c.t)
	}
	p.last = c.t
	// Across the antimeridian the contacts' longitudes are summed the
	// short way round from the mean so far (meanLon brings the mean back);
	// anywhere else as they are.
	lon := c.lon
	if p.samples > 0 {
		switch d := c.lon - p.lonSum/float64(p.samples); {
		case d > 180:
			lon -= 360
		case d < -180:
			lon += 360
		}
	}
	p.samples++
	p.latSum += c.lat
	p.lonSum += lon
	p.minDist = math.Min(p.minDist, c.dist)
	p.addSpeed(c.speed)
	p.addSpeed(c.other)
	if !p.qualified && c.t.Sub(p.start).Hours() >= e.cfg.EncounterMinHours {
		p.qualified = e.qualifies(p)
	}
}

// sweepPairs closes the windows whose ships stopped reporting together
// (the hourly sweep, at e.now).
func (e *Engine) sweepPairs() {
	brk := minutes(e.cfg.EncounterBreakMinutes)
	merge := hours(e.cfg.EncounterMergeHours)
	var keys []pairKey
	for k, p := range e.pairs {
		if e.now.Sub(p.last) > brk+merge {
			keys = append(keys, k)
		}
	}
	sortPairs(keys)
	for _, k := range keys {
		e.closePair(k, e.pairs[k], true)
	}
}

// closePairsOf closes every pair of an MMSI (evicted).
func (e *Engine) closePairsOf(mmsi uint32) {
	var keys []pairKey
	for k := range e.pairs {
		if k.a.mmsi == mmsi || k.b.mmsi == mmsi {
			keys = append(keys, k)
		}
	}
	sortPairs(keys)
	for _, k := range keys {
		e.closePair(k, e.pairs[k], true)
	}
}

// closeAllPairs closes every pair (the flush).
func (e *Engine) closeAllPairs() {
	keys := make([]pairKey, 0, len(e.pairs))
	for k := range e.pairs {
		keys = append(keys, k)
	}
	sortPairs(keys)
	for _, k := range keys {
		e.closePair(k, e.pairs[k], true)
	}
}

// closePair ends the current window; a qualifying window waits as pending
// so that a next window less than the merge interval later extends it.
// final emits the pending one and forgets the pair.
func (e *Engine) closePair(k pairKey, p *pairState, final bool) {
	if p.samples > 0 {
		if p.qualified || e.qualifies(p) {
			if merged, ok := e.windowEvent(k, p); ok {
				if p.pending != nil && merged.Start != p.pending.Start {
					e.emit(*p.pending)
				}
				p.pending = &merged
			}
		}
		p.samples = 0
	}
	if final {
		if p.pending != nil {
			e.emit(*p.pending)
			p.pending = nil
		}
		delete(e.pairs, k)
	}
}

// windowEvent is the encounter the current (qualifying) window makes: the
// pending one extended when the window began less than the merge interval
// after it ended, else a new one.
func (e *Engine) windowEvent(k pairKey, p *pairState) (Event, bool) {
	h := p.last.Sub(p.start).Hours()
	lat, lon := p.latSum/float64(p.samples), p.meanLon()
	med := p.medianSpeed()
	merge := hours(e.cfg.EncounterMergeHours)
	if pe := p.pending; pe != nil && p.start.Std().Sub(pe.End) < merge {
		ev := *pe
		ev.End = p.last.Std()
		ev.Details.Hours = round2(ev.End.Sub(ev.Start).Hours())
		ev.Details.Windows++
		ev.Details.CloseFixes += p.samples
		ev.Details.MinDistanceM = math.Min(ev.Details.MinDistanceM, math.Round(p.minDist))
		return ev, true
	}
	d := Details{Hours: round2(h), MedianSpeedKn: med, MinDistanceM: math.Round(p.minDist), CloseFixes: p.samples, Windows: 1}
	if e.land != nil {
		d.ShoreNM = round2(e.land.DistanceToShore(lat, lon, 500*geo.NauticalMile) / geo.NauticalMile)
	}
	if z := e.watchZone(lat, lon); z != nil {
		d.Zone, d.ZoneName, d.ZoneKind = z.ID, z.Name, z.Kind
	}
	ev := Event{Kind: KindEncounter, Vessels: []Vessel{e.vessel(k.a), e.vessel(k.b)}, Start: p.start.Std(), End: p.last.Std(), Lat: round5(lat), Lon: round5(lon), Details: d}
	d.Counterpart = e.counterpart(ev.Vessels)
	ev.Details = d
	return ev, true
}

// counterpart says why an encounter matters most: a DPRK MMSI (MID 445)
// or a designated vessel among the two.
func (e *Engine) counterpart(vs []Vessel) string {
	var why []string
	for _, v := range vs {
		if v.MMSI/1000000 == 445 {
			why = append(why, fmt.Sprintf("MMSI %09d is DPRK-registered (MID 445)", v.MMSI))
		}
		if e.Designated != nil {
			if what, _, ok := e.Designated(v.IMO, v.MMSI); ok {
				why = append(why, fmt.Sprintf("MMSI %09d is designated: %s", v.MMSI, what))
			}
		}
	}
	return strings.Join(why, "; ")
}

// Port proximity of encounter cells, as awayFromPort caches it.
const (
	cellMixed uint8 = iota + 1 // some points near a port, some not: test each
	cellAway                   // every point at least the minimum distance from any port
	cellNear                   // every point within it
)

// awayFromPort reports whether lat, lon (in encounter cell c) is at least
// EncounterMinPortKM from every port and anchorage. Most cells are wholly
// one or the other, which is worked out once per cell from its centre
// (the nearest port farther than the distance plus the cell's
// half-diagonal, or nearer than the distance minus it); only the
// positions in cells straddling the limit pay for a nearest-port search.
func (e *Engine) awayFromPort(c cellKey, lat, lon float64) bool {
	if e.ports == nil {
		return true
	}
	limit := e.cfg.EncounterMinPortKM * 1000
	cls := e.cellPort[c]
	if cls == 0 {
		// A cell is at most 0.05 x 0.05 degrees: its corners are within
		// 3,932 m of its centre (rounded up, with a margin).
		const halfDiagonal = 3940
		clat := (float64(c.y)+0.5)*encCellDeg - 90
		clon := (float64(c.x)+0.5)*encCellDeg - 180
		_, d, near := e.ports.Nearest(clat, clon, limit+halfDiagonal)
		switch {
		case !near:
			cls = cellAway
		case d < limit-halfDiagonal:
			cls = cellNear
		default:
			cls = cellMixed
		}
		if len(e.cellPort) >= 1<<20 {
			clear(e.cellPort) // bounded whatever the input; recomputed as needed
		}
		e.cellPort[c] = cls
	}
	switch cls {
	case cellAway:
		return true
	case cellNear:
		return false
	}
	_, _, near := e.ports.Nearest(lat, lon, limit)
	return !near
}
