package detect

import (
	"errors"
	"math"
	"slices"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// Encounters by sea area (docs/scale.md, "Splitting the work"). Behind a
// sequencer built with NewAreaSequencer, the encounter detector runs in
// two stages of its own:
//
//   - area workers (AreaWorker, each an AreaPartition of the tiles of
//     encounter cells) hold the grid of their tiles and of the one-cell
//     ring around them (the halo), scan from the fixes of their own
//     cells, and send each close pair they find as an ItemContact;
//   - pair workers (PairWorker, each a Partition of the pairs, by
//     Partition.OwnsPair) hold the pairs' windows, fed the contacts and
//     the sequencer's ticks, evictions and static reports (the names an
//     encounter's vessels carry), and emit the encounters.
//
// A fix's contacts are applied after the fix's item and before the next
// item, where an Engine's scan runs: the sequencer, area workers of 1 to
// N partitions and pair workers of 1 to M emit, together with the vessel
// workers, exactly an Engine's events (TestAreaWorkersSameEvents).

// AreaCell is an encounter grid cell (0.05 degrees: x from longitude
// -180, y from latitude -90).
type AreaCell struct{ X, Y int32 }

func areaCellOf(lat, lon float64) AreaCell {
	c := encCell(lat, lon)
	return AreaCell{c.x, c.y}
}

// areaTileCells is the side of an area tile in cells (0.4 degrees).
const areaTileCells = 8

// AreaPartition is one share of the sea, for area workers: tiles of
// areaTileCells x areaTileCells cells, each owned by one partition (a
// hash of the tile). {0, 1} or the zero value owns every tile.
type AreaPartition struct {
	Index, Count int
}

func floorDiv(a, b int32) int32 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// OwnsCell says whether the partition owns the cell's tile: its worker
// scans from the fixes there.
func (a AreaPartition) OwnsCell(c AreaCell) bool {
	if a.Count <= 1 {
		return true
	}
	tx, ty := floorDiv(c.X, areaTileCells), floorDiv(c.Y, areaTileCells)
	return Partition{a.Index, a.Count}.key(uint64(uint32(tx))<<32 | uint64(uint32(ty)) ^ 0x5bd1e9955bd1e995)
}

// Covers says whether the cell is the partition's or in the ring of one
// cell around its tiles: its worker's grid holds the cell.
func (a AreaPartition) Covers(c AreaCell) bool {
	if a.Count <= 1 {
		return true
	}
	for dy := int32(-1); dy <= 1; dy++ {
		for dx := int32(-1); dx <= 1; dx++ {
			if a.OwnsCell(AreaCell{wrapCellX(c.X + dx), c.Y + dy}) {
				return true
			}
		}
	}
	return false
}

// ForArea says whether area partition a's worker takes the item: a fix
// in a cell it covers, or whose segment was in one (it leaves), and the
// close of a segment last in one.
func (it *Item) ForArea(a AreaPartition) bool {
	switch it.Kind {
	case ItemFix:
		return a.Covers(areaCellOf(it.Fix.Lat, it.Fix.Lon)) || !it.Started && a.Covers(it.LastCell)
	case ItemClosed:
		return a.Covers(it.LastCell)
	}
	return false
}

// AreaWorker holds the encounter grid of one AreaPartition and finds the
// close pairs of fixes there (Apply), handing each to send as an
// ItemContact. It is not safe for concurrent use.
type AreaWorker struct {
	e        *Engine
	part     AreaPartition
	segs     map[segKey]*segState
	rejected int64
}

// NewAreaWorker builds the area worker of partition part, with the
// sequencer's settings (ports: encounters near them do not count).
func NewAreaWorker(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, part AreaPartition, send func(Item)) *AreaWorker {
	e := newEngine(cfg, land, ports, zones, nil, roleArea)
	e.send = send
	e.Part = Partition(part) // names its checkpoint; it emits nothing
	return &AreaWorker{e: e, part: part, segs: map[segKey]*segState{}}
}

// Rejected is the number of items the worker could not apply (invalid
// positions); other partitions' items are skipped, not rejected.
func (w *AreaWorker) Rejected() int64 { return w.rejected }

// Segments is the number of segments the worker's grid holds.
func (w *AreaWorker) Segments() int { return len(w.segs) }

// Apply runs the worker on the sequencer's next item.
func (w *AreaWorker) Apply(it *Item) {
	if !it.ForArea(w.part) {
		return
	}
	e := w.e
	k := segKey{it.Fix.MMSI, int(it.Segment)}
	st := w.segs[k]
	switch it.Kind {
	case ItemFix:
		f := it.Fix
		if !f.Valid() {
			w.rejected++
			return
		}
		c := areaCellOf(f.Lat, f.Lon)
		if !w.part.Covers(c) {
			// The segment left this worker's cells.
			if st != nil {
				e.removeFromCell(st)
				delete(w.segs, k)
			}
			return
		}
		if st == nil {
			st = &segState{key: k}
			w.segs[k] = st
		}
		e.scanSeq = it.Seq
		e.encounter(st, f, it.Speed, w.part.OwnsCell(c))
	case ItemClosed:
		if st != nil {
			e.removeFromCell(st)
			delete(w.segs, k)
		}
	}
}

// sendContact hands an area worker's close pair on.
func (e *Engine) sendContact(c *contact) {
	e.send(Item{Kind: ItemContact, Seq: e.scanSeq, Now: c.t,
		Fix:     track.Fix{MMSI: c.k.a.mmsi, Time: c.t, Lat: c.lat, Lon: c.lon, SOG: math.NaN()},
		Segment: int32(c.k.a.id), Speed: c.speed,
		Other: c.k.b.mmsi, OtherSegment: int32(c.k.b.id), OtherSpeed: c.other, Dist: c.dist})
}

// PairWorker holds the encounter windows of one Partition of the pairs
// of MMSIs (Partition.OwnsPair) and emits their encounters, fed the
// sequencer's items and the area workers' contacts in one order (Apply).
// It is not safe for concurrent use.
type PairWorker struct {
	e *Engine
	// Designated is the Engine's (encounters' counterparts, severities).
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	rejected   int64
}

// NewPairWorker builds the pair worker of partition part, with the
// sequencer's settings.
func NewPairWorker(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, part Partition, emit func(Event)) *PairWorker {
	e := newEngine(cfg, land, ports, zones, emit, rolePair)
	e.Part = part
	return &PairWorker{e: e}
}

// Rejected is the number of items the worker could not apply.
func (w *PairWorker) Rejected() int64 { return w.rejected }

// Pairs is the number of pairs the worker holds a window of.
func (w *PairWorker) Pairs() int { return len(w.e.pairs) }

// Apply runs the worker on the next item: the sequencer's (static
// reports, evictions, ticks; fixes and closes are skipped) or a contact,
// each fix's contacts after the fix's item and before the next.
func (w *PairWorker) Apply(it *Item) {
	e := w.e
	e.Designated = w.Designated
	switch it.Kind {
	case ItemContact:
		if !e.Part.OwnsPair(it.Fix.MMSI, it.Other) {
			return
		}
		a, b := segKey{it.Fix.MMSI, int(it.Segment)}, segKey{it.Other, int(it.OtherSegment)}
		if makePair(a, b) != (pairKey{a, b}) || a == b {
			w.rejected++
			return
		}
		e.now = it.Now
		e.applyContact(&contact{k: pairKey{a, b}, t: it.Fix.Time, lat: it.Fix.Lat, lon: it.Fix.Lon, dist: it.Dist, speed: it.Speed, other: it.OtherSpeed})
	case ItemStatic:
		r := StaticIn(&it.Fix)
		if r == nil {
			w.rejected++
			return
		}
		e.now = it.Now
		e.staticNames(*r)
	case ItemEvicted:
		e.now = it.Now
		// Its pairs close with its name, then the name goes.
		if !e.tracker.Drop(it.Fix.MMSI) {
			e.closePairsOf(it.Fix.MMSI)
		}
	case ItemSweepIdentity:
		e.now = it.Now
		e.sweepPairs()
	case ItemFlush:
		e.now = it.Now
		e.closeAllPairs()
	}
}

// staticNames records what an event's vessel carries of a static report
// (e.vessel: the IMO and name), as StaticReport does: a pair worker's
// vessels are names only.
func (e *Engine) staticNames(r StaticReport) {
	if r.Time.IsZero() {
		return
	}
	if r.IMO == imoNotAvailable {
		r.IMO = 0
	}
	if r.IMO == 0 && r.Name == "" {
		return
	}
	e.vesselAt(r.MMSI).static.set(r)
}

// set takes a report's IMO and name, when it has them.
func (s *staticInfo) set(r StaticReport) {
	if r.IMO != 0 {
		s.imo = r.IMO
	}
	if r.Name != "" {
		s.name = r.Name
	}
}

// areaMagic starts an area worker's checkpoint.
const areaMagic, areaVersion = "twarea", 1

// Checkpoint returns the worker's state: its grid, cell by cell, each
// cell's segments in their order with their latest fixes. A worker
// restored from it and given the items after it goes on as this one
// would (a segment a scan dropped as stale is not kept: its next fix
// puts it back, as it would have).
func (w *AreaWorker) Checkpoint() []byte {
	e := w.e
	cells := make([]cellKey, 0, len(e.cells))
	for c := range e.cells {
		cells = append(cells, c)
	}
	slices.SortFunc(cells, func(a, b cellKey) int {
		if a.y != b.y {
			return int(a.y) - int(b.y)
		}
		return int(a.x) - int(b.x)
	})
	x := &enc{b: make([]byte, 0, 64+len(w.segs)*48)}
	x.b = append(x.b, areaMagic...)
	x.u(areaVersion)
	x.s(e.environment())
	x.u(uint64(len(cells)))
	for _, c := range cells {
		x.i(int64(c.x))
		x.i(int64(c.y))
		n := 0
		for st := e.cells[c]; st != nil; st = st.cellNext {
			n++
		}
		x.u(uint64(n))
		for st := e.cells[c]; st != nil; st = st.cellNext {
			x.u(uint64(st.key.mmsi))
			x.u(uint64(st.key.id))
			x.t(st.entry.t)
			x.f(st.entry.lat)
			x.f(st.entry.lon)
			x.f(st.entry.speed)
		}
	}
	return x.b
}

// Restore replaces a new worker's state with a checkpoint of a worker of
// the same partition and settings (else ErrCheckpointMismatch).
func (w *AreaWorker) Restore(b []byte) error {
	if len(b) < len(areaMagic) || string(b[:len(areaMagic)]) != areaMagic {
		if len(b) >= len(checkpointMagic) && string(b[:len(checkpointMagic)]) == checkpointMagic ||
			len(b) >= len(workerMagic) && string(b[:len(workerMagic)]) == workerMagic {
			return ErrCheckpointMismatch // another stage's
		}
		return errCorrupt
	}
	r := &dec{b: b[len(areaMagic):]}
	if v := r.u(); r.err == nil && v != areaVersion {
		return errors.New("detect: area worker checkpoint of another version")
	}
	if env := r.s(); r.err == nil && env != w.e.environment() {
		return ErrCheckpointMismatch
	}
	e := w.e
	cells := map[cellKey]*segState{}
	segs := map[segKey]*segState{}
	nc := r.n()
	for range nc {
		if r.err != nil {
			break
		}
		c := cellKey{int32(r.i()), int32(r.i())}
		n := r.n()
		var last *segState
		for range n {
			if r.err != nil {
				break
			}
			k := segKey{uint32(r.u()), int(r.u())}
			st := &segState{key: k, cell: c, inCell: true, entry: cellEntry{t: r.t(), lat: r.f(), lon: r.f(), speed: r.f()}}
			if segs[k] != nil {
				r.fail()
				break
			}
			segs[k] = st
			if last == nil {
				cells[c] = st
			} else {
				last.cellNext, st.cellPrev = st, last
			}
			last = st
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return errCorrupt
	}
	e.cells, w.segs = cells, segs
	return nil
}

// Checkpoint reports the worker's open encounters (Status "open") and
// returns its state: its pairs' windows and the names of the vessels
// (any checkpoint point between items will do).
func (w *PairWorker) Checkpoint() []byte {
	w.e.Designated = w.Designated
	return w.e.Checkpoint()
}

// Restore replaces a new worker's state with a checkpoint of a worker of
// the same partition and settings (else ErrCheckpointMismatch).
func (w *PairWorker) Restore(b []byte) error { return w.e.Restore(b) }
