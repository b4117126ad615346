package detect

import (
	"math"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// Reception by area (docs/scale.md, "Splitting the work"). Behind a
// sequencer built with NewAreaSequencer(..., Split{Reception: n}), the
// reception counts (ships heard per 1-degree cell and hour) and the gap
// events that read them are kept by reception workers
// (ReceptionWorker, each a Partition of tiles of recTileDeg x recTileDeg
// degrees). The sequencer still finds each gap (an MMSI's silence, its
// vessel state) and decides which fixes count (once per segment, cell and
// hour); a fix that counts goes to the owners of its cell and of the
// cells around it (a gap reads the 3 x 3 cells around its last
// position), and a gap to the owner of its last position's cell, which
// reports it as an Engine does.

// recTileDeg is the side of a reception tile in degrees.
const recTileDeg = 4

// GapStart is the start of a silence a fix ends: the MMSI's last fix
// before it (time, place, segment) and its name then.
type GapStart struct {
	LastT            track.Time
	LastLat, LastLon float64
	LastSeg          int32
	IMO              uint32
	Name             string
}

// OwnsDegree says whether the reception partition owns the 1-degree cell
// (its south-west corner's latitude and longitude).
func (p Partition) OwnsDegree(lat, lon int16) bool {
	if p.Count <= 1 {
		return true
	}
	tx, ty := floorDiv(int32(lon), recTileDeg), floorDiv(int32(lat), recTileDeg)
	return p.key(uint64(uint32(tx))<<32 | uint64(uint32(ty)) ^ 0x2545f4914f6cdd1d)
}

// coversDegree says whether the cell or one of its 8 neighbours is the
// partition's: its counts are read by the partition's gaps.
func (p Partition) coversDegree(lat, lon int16) bool {
	for dy := int16(-1); dy <= 1; dy++ {
		for dx := int16(-1); dx <= 1; dx++ {
			if p.OwnsDegree(lat+dy, wrapDegree(lon+dx)) {
				return true
			}
		}
	}
	return false
}

// ForReception says whether reception partition p's worker takes the
// item: a fix that counts in a cell it covers, a fix ending a gap that
// started in a cell it owns, and the hourly sweep.
func (it *Item) ForReception(p Partition) bool {
	switch it.Kind {
	case ItemFix:
		if it.Counts {
			k := activityOf(it.Fix)
			if p.coversDegree(k.lat, k.lon) {
				return true
			}
		}
		if g := it.Gap; g != nil {
			return p.OwnsDegree(int16(math.Floor(g.LastLat)), wrapDegree(int16(math.Floor(g.LastLon))))
		}
	case ItemSweepIdentity:
		return true
	}
	return false
}

// ReceptionWorker keeps the reception counts of one Partition of the
// reception tiles (and of the ring of cells around them) and reports the
// gaps that started there (Apply). It is not safe for concurrent use.
type ReceptionWorker struct {
	e *Engine
	// Designated is the Engine's (severities).
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	rejected   int64
}

// NewReceptionWorker builds the reception worker of partition part, with
// the sequencer's settings (land, ports and zones: a gap's shore
// distance and zone).
func NewReceptionWorker(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, part Partition, emit func(Event)) *ReceptionWorker {
	e := newEngine(cfg, land, ports, zones, emit, roleRec)
	e.Part = part
	return &ReceptionWorker{e: e}
}

// Rejected is the number of items the worker could not apply.
func (w *ReceptionWorker) Rejected() int64 { return w.rejected }

// Apply runs the worker on the sequencer's next item.
func (w *ReceptionWorker) Apply(it *Item) {
	if !it.ForReception(w.e.Part) {
		return
	}
	e := w.e
	e.now, e.Designated = it.Now, w.Designated
	if it.Kind == ItemSweepIdentity {
		e.pruneActivity()
		return
	}
	f := it.Fix
	// The gap first: the fix ending it is counted after, as in an Engine.
	if g := it.Gap; g != nil && e.Part.OwnsDegree(int16(math.Floor(g.LastLat)), wrapDegree(int16(math.Floor(g.LastLon)))) {
		if g.LastT.IsZero() || !f.Time.After(g.LastT) {
			w.rejected++
		} else {
			// The event's vessel carries the name the sequencer had.
			v := e.vesselAt(f.MMSI)
			v.static = staticInfo{g.IMO, g.Name}
			vs := &vesselState{lastT: g.LastT, lastLat: g.LastLat, lastLon: g.LastLon, lastSeg: g.LastSeg}
			e.emit(e.gapEvent(f.MMSI, vs, f.Time, f.Lat, f.Lon, true))
			e.tracker.Drop(f.MMSI)
		}
	}
	if it.Counts {
		if k := activityOf(f); e.Part.coversDegree(k.lat, k.lon) {
			e.activity[k]++
		}
	}
}

// Checkpoint returns the worker's state (its counts; an Engine
// checkpoint of its stage). It has no open occurrence.
func (w *ReceptionWorker) Checkpoint() []byte { return w.e.Checkpoint() }

// Restore replaces a new worker's state with a checkpoint of a worker of
// the same partition and settings (else ErrCheckpointMismatch).
func (w *ReceptionWorker) Restore(b []byte) error { return w.e.Restore(b) }
