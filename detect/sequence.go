package detect

import (
	"errors"
	"fmt"
	"math"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// Two stages. Detection splits into a sequencer and vessel workers
// (docs/scale.md, "Splitting the work"):
//
//   - the sequencer (one, NewSequencer) puts every fix through the
//     reorder buffer and the tracker, derives speeds, counts reception
//     and reports gaps, keeps the encounter grid and pairs and the IMOs'
//     users (conflicts and hand-overs between MMSIs), sweeps its own
//     state hourly and evicts vessels at Config.MaxVessels;
//   - vessel workers (VesselWorker, each a Partition of the MMSIs) run
//     the per-vessel detectors (loitering, port calls, zones, spoofing
//     and jumps, identity and draught changes, inconsistencies) and
//     Observe, on what the sequencer sends them.
//
// The sequencer sends Items, in its order: every fix it tracked with the
// segment the tracker put it on and its derived speed, every static
// report, each segment closed, each vessel evicted, and ticks at each
// point its hourly sweep (or the flush at the end) closes what the
// workers hold. A worker gets its MMSIs' items and every tick (For), and
// follows the sequencer's tracker (track.Tracker.Place) rather than
// judging segments itself, so it holds the same segments and runs at the
// same points of the sequence: a sequencer and workers of 1 to N
// partitions emit, together, exactly the events of one Engine
// (TestSequencerWorkersSameEvents), and eviction is exact too (the
// sequencer decides it; the workers are told).
//
// An Engine runs both stages on one state: the detectors are the same
// code, a worker's segments and vessels being its tracker's as the
// Engine's are its own.

type role uint8

const (
	roleEngine role = iota // both stages
	roleSeq                // the sequencer
	roleWorker             // a vessel worker
	roleArea               // an area worker (area.go)
	rolePair               // a pair worker (area.go)
	roleIMO                // an IMO worker (identity_stage.go)
	roleRec                // a reception worker (reception.go)
)

// ItemKind says what an Item is.
type ItemKind uint8

const (
	// ItemFix is a position the tracker used: Fix, Segment, Started, Speed.
	ItemFix ItemKind = iota + 1
	// ItemStatic is a static report (Fix carries it: StaticIn).
	ItemStatic
	// ItemClosed is the end of segment Segment of Fix.MMSI.
	ItemClosed
	// ItemEvicted is Fix.MMSI forgotten at Config.MaxVessels (its
	// segments' ItemClosed came first).
	ItemEvicted
	// ItemSweepIdentity is the hourly sweep's closing of identity
	// changes not resumed, at Now.
	ItemSweepIdentity
	// ItemSweepJumps is the hourly sweep's closing of jump episodes.
	ItemSweepJumps
	// ItemFlush is the end of the data: every identity change still
	// open closes (the segments' ItemClosed came first).
	ItemFlush
	// ItemContact is a close pair of fixes an area worker's grid found
	// (area.go): from the fix of sequence number Seq of segment Segment
	// of Fix.MMSI, at Fix.Time, its speed Speed, to segment
	// OtherSegment of Other, whose latest fix's speed is OtherSpeed, at
	// distance Dist; Fix.Lat and Fix.Lon are their midpoint. Never a
	// sequencer's item: the pair workers take it.
	ItemContact
)

// Item is one step of the sequencer's stream to the vessel workers.
type Item struct {
	Kind ItemKind
	// Now is the sequencer's clock: the latest event time it used.
	Now track.Time
	// Fix is the position or the static report; for ItemClosed and
	// ItemEvicted only its MMSI is set.
	Fix track.Fix
	// Segment is the MMSI's segment the fix joined, or that closed.
	Segment int32
	// Started says the fix began the segment (else it extended it).
	Started bool
	// Speed is the speed the detectors use: the reported SOG, or one
	// derived from the previous fix of the segment.
	Speed float64
	// Sweep says the hourly sweep runs after this fix: its ticks follow,
	// and the fix is observed after them, as an Engine does.
	Sweep bool
	// Seq numbers the sequencer's items from 1, in its order (kept
	// across its checkpoints); a contact carries its fix's.
	Seq uint64
	// LastCell is the encounter cell the segment's previous fix was in:
	// for ItemFix that did not start its segment, and ItemClosed (its
	// last fix's). Area workers route by it (ForArea).
	LastCell AreaCell
	// IMOParts are the IMO partitions the item's MMSI is routed to (bit
	// i: partition i; ForIMO), and Adopt, on a static report routing it
	// to one more, its state there (identity_stage.go).
	IMOParts uint64
	Adopt    *Adoption
	// Counts says the fix counts for reception (once per segment, 1-degree
	// cell and hour), and Gap is the silence it ends (reception.go).
	Counts bool
	Gap    *GapStart
	// A contact's other segment, its speed, and the distance in metres.
	Other        uint32
	OtherSegment int32
	OtherSpeed   float64
	Dist         float64
}

// Tick says the item is for every worker (a sweep or the flush), not
// one vessel's.
func (it *Item) Tick() bool { return it.Kind >= ItemSweepIdentity && it.Kind <= ItemFlush }

// For says whether partition p's worker takes the item: its MMSIs'
// items and every tick.
func (it *Item) For(p Partition) bool { return it.Tick() || p.OwnsMMSI(it.Fix.MMSI) }

// NewSequencer builds the sequencing stage: an Engine (fed with
// Position, Static, FeedAIS..., Flush; Checkpoint and Restore its own
// state) that runs only the shared detectors, emitting their events
// (encounters, gaps, one IMO on two MMSIs, hand-overs), and gives send
// every Item the vessel workers need, in order. Its Observe and Forget
// are never called (the workers have them).
func NewSequencer(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, emit func(Event), send func(Item)) *Engine {
	e := newEngine(cfg, land, ports, zones, emit, roleSeq)
	e.send = send
	return e
}

// NewAreaSequencer builds a sequencer whose encounters are found by area
// and pair workers (area.go): it runs no encounter grid and holds no
// pairs; everything else is NewSequencer's. Its checkpoint is its own
// (restored into a NewSequencer it is ErrCheckpointMismatch).
//
// With split.IMOs > 0, IMO workers follow the IMOs' users
// (identity_stage.go): the sequencer then keeps no IMO state, and
// routes each MMSI's items to them (Item.IMOParts). With
// split.Reception > 0, reception workers keep the reception counts and
// report gaps (reception.go): the sequencer marks the fixes that count
// (Item.Counts) and sends the gaps it finds (Item.Gap).
func NewAreaSequencer(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, emit func(Event), send func(Item), split Split) *Engine {
	if split.IMOs > MaxIMOPartitions || split.IMOs < 0 || split.Reception < 0 {
		// An item's IMO routes are 64 bits: more partitions would be
		// routed as 64 while the workers own IMOs by their own count.
		panic(fmt.Sprintf("detect: a split of %d IMO and %d reception partitions (IMO partitions: 0 to %d)", split.IMOs, split.Reception, MaxIMOPartitions))
	}
	e := NewSequencer(cfg, land, ports, zones, emit, send)
	e.areas = true
	e.imoParts = split.IMOs
	e.recParts = max(split.Reception, 0)
	return e
}

// Split says which more stages take work from a NewAreaSequencer: IMO
// workers of IMOs partitions (at most 64; 0: the sequencer keeps the
// IMOs' users) and reception workers of Reception partitions (0: the
// sequencer keeps the reception counts and reports gaps).
type Split struct {
	IMOs, Reception int
}

// MaxIMOPartitions is the most IMO partitions a split may have (an
// item's routes are one bit a partition in 64).
const MaxIMOPartitions = 64

// sendItem numbers the item and hands it on.
func (e *Engine) sendItem(it Item) {
	e.itemSeq++
	it.Seq = e.itemSeq
	e.send(it)
}

// VesselWorker runs the per-vessel detectors of one partition's MMSIs on
// a sequencer's items (Apply), emitting their events. It is not safe for
// concurrent use.
type VesselWorker struct {
	e *Engine
	// Observe, Forget and Designated are the Engine's (set them before
	// the first Apply).
	Observe    func(f track.Fix, segment int)
	Forget     func(mmsi uint32)
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	rejected   int64
	// pending is a fix observed after the sweep's ticks that follow it.
	pending    track.Fix
	pendingSeg int
	hasPending bool
}

// NewVesselWorker builds the worker of partition part (Partition{} or
// {0, 1}: every MMSI), with the sequencer's settings.
func NewVesselWorker(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, part Partition, emit func(Event)) *VesselWorker {
	e := newEngine(cfg, land, ports, zones, emit, roleWorker)
	e.Part = part
	return &VesselWorker{e: e}
}

// Rejected is the number of items the worker could not apply: an
// invalid position, a fix on a segment it does not hold open, a close of one it does not, a static
// item without a report. Items in the sequencer's order, none missing,
// never are; another partition's items are skipped, not rejected.
func (w *VesselWorker) Rejected() int64 { return w.rejected }

// TrackedVessels is the number of MMSIs the worker holds state for.
func (w *VesselWorker) TrackedVessels() int { return w.e.tracker.Tracked() }

// Apply runs the worker on the sequencer's next item.
func (w *VesselWorker) Apply(it *Item) {
	if !it.For(w.e.Part) {
		return
	}
	if w.hasPending && it.Kind != ItemSweepIdentity && it.Kind != ItemSweepJumps {
		// The sweep's ticks did not follow (items lost): observe it now.
		w.rejected++
		w.observePending()
	}
	e := w.e
	e.Observe, e.Forget, e.Designated = w.Observe, w.Forget, w.Designated
	e.now = it.Now
	switch it.Kind {
	case ItemFix:
		f := it.Fix
		if !f.Valid() { // the sequencer's tracker took none such
			w.rejected++
			return
		}
		seg, vs, prev, res := e.tracker.Place(f, int(it.Segment), it.Started)
		if res == track.Invalid {
			w.rejected++
			return
		}
		st := &seg.Data
		if res == track.Started {
			st.key = segKey{seg.MMSI, seg.ID}
		}
		vs.lastT, vs.lastLat, vs.lastLon, vs.lastSeg = f.Time, f.Lat, f.Lon, int32(seg.ID)
		e.vesselFix(st, seg, f, prev, res, it.Speed)
		if it.Sweep {
			w.pending, w.pendingSeg, w.hasPending = f, seg.ID, true
		} else if e.Observe != nil {
			e.Observe(f, seg.ID)
		}
	case ItemStatic:
		r := StaticIn(&it.Fix)
		if r == nil {
			w.rejected++
			return
		}
		e.StaticReport(*r)
		if e.Observe != nil {
			e.Observe(it.Fix, -1)
		}
	case ItemClosed:
		if !e.tracker.CloseSegment(it.Fix.MMSI, int(it.Segment)) {
			w.rejected++
		}
	case ItemEvicted:
		// Not known here is fine: a vessel evicted before the worker
		// saw anything of it (a static report with no time).
		e.tracker.Drop(it.Fix.MMSI)
	case ItemSweepIdentity:
		e.closeIdentity(false)
	case ItemSweepJumps:
		e.sweepJumps()
		w.observePending()
	case ItemFlush:
		e.closeIdentity(true)
	default:
		w.rejected++
	}
}

// observePending observes the fix the sweep came after.
func (w *VesselWorker) observePending() {
	if !w.hasPending {
		return
	}
	f, seg := w.pending, w.pendingSeg
	w.pending, w.hasPending = track.Fix{}, false
	if w.e.Observe != nil {
		w.e.Observe(f, seg)
	}
}

// Checkpoint reports the worker's open occurrences (Status "open") and
// returns its state: its vessels' detector state only, and the fix
// waiting for the sweep's ticks when taken between them. A worker
// restored from it and given the items after it goes on as this one
// would: a checkpoint may be taken after any item.
func (w *VesselWorker) Checkpoint() []byte {
	w.e.Designated = w.Designated
	state := w.e.Checkpoint()
	x := &enc{b: make([]byte, 0, len(workerMagic)+64+len(state))}
	x.b = append(x.b, workerMagic...)
	x.bool(w.hasPending)
	if w.hasPending {
		x.fix(w.pending)
		x.i(int64(w.pendingSeg))
	}
	x.b = append(x.b, state...)
	return x.b
}

// workerMagic starts a worker's checkpoint, before the engine's.
const workerMagic = "twvessel"

// Restore replaces a new worker's state with a checkpoint of a worker of
// the same partition and settings (else ErrCheckpointMismatch).
func (w *VesselWorker) Restore(b []byte) error {
	if len(b) < len(workerMagic) || string(b[:len(workerMagic)]) != workerMagic {
		if len(b) >= len(checkpointMagic) && string(b[:len(checkpointMagic)]) == checkpointMagic ||
			len(b) >= len(areaMagic) && string(b[:len(areaMagic)]) == areaMagic {
			return ErrCheckpointMismatch // an Engine's, a sequencer's or an area worker's
		}
		return errCorrupt
	}
	r := &dec{b: b[len(workerMagic):]}
	var f track.Fix
	var seg int
	pending := r.bool()
	if pending {
		f = r.fix()
		seg = int(r.i())
	}
	if r.err != nil {
		return r.err
	}
	if err := w.e.Restore(r.b); err != nil {
		return err
	}
	w.pending, w.pendingSeg, w.hasPending = f, seg, pending
	return nil
}

// The items' wire form, for a transport between processes: a batch is
// itemsMagic, a version, the count and the items (varints, IEEE floats,
// strings interned per batch: a static report travels whole). One
// batch decodes alone: fixes of one source share one Extra within it.
// Version 2 added Seq (the difference from the item before, zigzag),
// LastCell (a fix's as the difference from its own cell) and contacts.
const itemsMagic, itemsVersion = "twitems", 2

// AppendItems appends the batch's wire form to b.
func AppendItems(b []byte, items []Item) []byte {
	w := &enc{b: b}
	w.b = append(w.b, itemsMagic...)
	w.u(itemsVersion)
	w.u(uint64(len(items)))
	var seq uint64
	for i := range items {
		it := &items[i]
		w.u(uint64(it.Kind))
		w.t(it.Now)
		w.i(int64(it.Seq - seq))
		seq = it.Seq
		switch it.Kind {
		case ItemFix, ItemStatic, ItemClosed, ItemEvicted:
			w.u(it.IMOParts)
		}
		switch it.Kind {
		case ItemFix:
			w.fix(it.Fix)
			w.i(int64(it.Segment))
			w.bool(it.Started)
			w.f(it.Speed)
			w.bool(it.Sweep)
			if !it.Started {
				c := areaCellOf(it.Fix.Lat, it.Fix.Lon)
				w.i(int64(it.LastCell.X) - int64(c.X))
				w.i(int64(it.LastCell.Y) - int64(c.Y))
			}
			w.bool(it.Counts)
			w.bool(it.Gap != nil)
			if g := it.Gap; g != nil {
				w.t(g.LastT)
				w.f(g.LastLat)
				w.f(g.LastLon)
				w.i(int64(g.LastSeg))
				w.u(uint64(g.IMO))
				w.s(g.Name)
			}
		case ItemStatic:
			w.fix(it.Fix)
			w.bool(it.Adopt != nil)
			if a := it.Adopt; a != nil {
				w.u(uint64(len(a.Segments)))
				for _, sg := range a.Segments {
					w.i(int64(sg.ID))
					w.fix(sg.Last)
				}
				w.t(a.LastT)
				w.f(a.LastLat)
				w.f(a.LastLon)
				w.i(int64(a.LastSeg))
				w.u(uint64(a.IMO))
				w.s(a.Name)
			}
		case ItemClosed:
			w.u(uint64(it.Fix.MMSI))
			w.i(int64(it.Segment))
			w.i(int64(it.LastCell.X))
			w.i(int64(it.LastCell.Y))
		case ItemEvicted:
			w.u(uint64(it.Fix.MMSI))
		case ItemContact:
			w.u(uint64(it.Fix.MMSI))
			w.i(int64(it.Segment))
			w.t(it.Fix.Time)
			w.f(it.Fix.Lat)
			w.f(it.Fix.Lon)
			w.f(it.Speed)
			w.u(uint64(it.Other))
			w.i(int64(it.OtherSegment))
			w.f(it.OtherSpeed)
			w.f(it.Dist)
		}
	}
	return w.b
}

// DecodeItems reads a batch AppendItems wrote. A batch of another version,
// truncated or corrupt is an error, and no items.
func DecodeItems(b []byte) ([]Item, error) {
	if len(b) < len(itemsMagic) || string(b[:len(itemsMagic)]) != itemsMagic {
		return nil, errItemsCorrupt
	}
	r := &dec{b: b[len(itemsMagic):]}
	// Version 1 (a sequencer of an earlier build, whose batches may wait
	// on the stream across an upgrade) has none of version 2's fields.
	v := r.u()
	if r.err == nil && v != itemsVersion && v != 1 {
		return nil, fmt.Errorf("detect: items of version %d, this build reads 1 and %d", v, itemsVersion)
	}
	v2 := v == itemsVersion
	n := r.n()
	items := make([]Item, 0, n)
	var seq uint64
	for range n {
		if r.err != nil {
			break
		}
		it := Item{Kind: ItemKind(r.u()), Now: r.t()}
		if v2 {
			seq += uint64(r.i())
			it.Seq = seq
			switch it.Kind {
			case ItemFix, ItemStatic, ItemClosed, ItemEvicted:
				it.IMOParts = r.u()
			}
		}
		switch it.Kind {
		case ItemFix:
			it.Fix = r.fix()
			it.Segment = int32(r.i())
			it.Started = r.bool()
			it.Speed = r.f()
			it.Sweep = r.bool()
			if !v2 {
				break
			}
			if !it.Started {
				c := areaCellOf(it.Fix.Lat, it.Fix.Lon)
				it.LastCell = AreaCell{int32(int64(c.X) + r.i()), int32(int64(c.Y) + r.i())}
			}
			it.Counts = r.bool()
			if r.bool() {
				it.Gap = &GapStart{LastT: r.t(), LastLat: r.f(), LastLon: r.f(), LastSeg: int32(r.i()), IMO: uint32(r.u()), Name: r.s()}
			}
		case ItemStatic:
			it.Fix = r.fix()
			if StaticIn(&it.Fix) == nil {
				r.fail()
			}
			if v2 && r.bool() {
				a := &Adoption{}
				k := r.n()
				for j := 0; j < k && r.err == nil; j++ {
					a.Segments = append(a.Segments, AdoptedSegment{int32(r.i()), r.fix()})
				}
				a.LastT, a.LastLat, a.LastLon, a.LastSeg = r.t(), r.f(), r.f(), int32(r.i())
				a.IMO, a.Name = uint32(r.u()), r.s()
				it.Adopt = a
			}
		case ItemClosed:
			it.Fix.MMSI = uint32(r.u())
			it.Segment = int32(r.i())
			if v2 {
				it.LastCell = AreaCell{int32(r.i()), int32(r.i())}
			}
		case ItemEvicted:
			it.Fix.MMSI = uint32(r.u())
		case ItemContact:
			if !v2 {
				r.fail()
			}
			it.Fix = track.Fix{MMSI: uint32(r.u()), SOG: math.NaN()}
			it.Segment = int32(r.i())
			it.Fix.Time, it.Fix.Lat, it.Fix.Lon, it.Speed = r.t(), r.f(), r.f(), r.f()
			it.Other = uint32(r.u())
			it.OtherSegment = int32(r.i())
			it.OtherSpeed, it.Dist = r.f(), r.f()
		case ItemSweepIdentity, ItemSweepJumps, ItemFlush:
		default:
			r.fail()
		}
		items = append(items, it)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errItemsCorrupt
	}
	return items, nil
}

var errItemsCorrupt = errors.New("detect: items truncated or corrupt")
