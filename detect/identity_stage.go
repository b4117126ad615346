package detect

import (
	"fmt"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/track"
)

// Identity by IMO (docs/scale.md, "Splitting the work"). Behind a
// sequencer built with NewAreaSequencer(..., imoParts > 0), the IMOs'
// users (one IMO on two MMSIs, hand-overs from one MMSI to another) are
// followed by IMO workers (IMOWorker, each a Partition of the IMOs, by
// Partition.OwnsIMO). What they read of an MMSI (its latest position and
// open segments' last fixes, its name) is its own: from the first static
// report of an MMSI with a valid IMO of partition i, the sequencer sends
// partition i every item of that MMSI (Item.IMOParts), the first carrying
// the MMSI's state at that point (Item.Adopt); an IMO worker follows the
// sequencer's tracker for those MMSIs (track.Tracker.Place), so it reads
// what the sequencer's engine would at the same point of the sequence.

// Adoption is an MMSI's state as an IMO worker takes it on: its open
// segments (their last fixes), its latest position and its name.
type Adoption struct {
	Segments         []AdoptedSegment
	LastT            track.Time
	LastLat, LastLon float64
	LastSeg          int32
	IMO              uint32
	Name             string
}

// AdoptedSegment is an open segment's ID and last fix.
type AdoptedSegment struct {
	ID   int32
	Last track.Fix
}

// routeIMO routes the MMSI's items to the partition of IMO x from now on
// (a sequencer's: the static report being handled is the first item
// there, carrying the MMSI's state).
func (e *Engine) routeIMO(mmsi uint32, v *vesselState, x uint32) {
	e.routesOf(mmsi, v)
	for i := range e.imoParts {
		if !(Partition{i, e.imoParts}).OwnsIMO(x) {
			continue
		}
		if v.imoParts&(1<<uint(i)) != 0 {
			return
		}
		v.imoParts |= 1 << uint(i)
		a := &Adoption{LastT: v.lastT, LastLat: v.lastLat, LastLon: v.lastLon, LastSeg: v.lastSeg, IMO: v.static.imo, Name: v.static.name}
		for _, s := range e.tracker.Open(mmsi) {
			a.Segments = append(a.Segments, AdoptedSegment{int32(s.ID), s.Last})
		}
		e.adopt = a
		return
	}
}

// routesOf is the MMSI's IMO partitions: its own, or those it had when
// it was evicted (taken back now).
func (e *Engine) routesOf(mmsi uint32, v *vesselState) uint64 {
	if v.imoParts == 0 && len(e.evictedRoutes) > 0 {
		if r, ok := e.evictedRoutes[mmsi]; ok {
			v.imoParts = r.parts
			delete(e.evictedRoutes, mmsi)
		}
	}
	return v.imoParts
}

// evictedRoute is an evicted MMSI's IMO partitions and a whole hour of
// the clock: at or after its eviction (its last use of an IMO was
// before), or, once forgotten, at or after the daily prune that found
// it gone from every IMO's users (pruneRoutes).
type evictedRoute struct {
	parts     uint64
	at        track.Time
	forgotten bool
}

// ceilHour is t rounded up to a whole hour (a route's clock: a later
// one only keeps it longer).
func ceilHour(t track.Time) track.Time {
	const h = track.Time(time.Hour)
	if r := t % h; r > 0 {
		return t - r + h
	}
	return t
}

// pruneRoutes drops the routes of evicted MMSIs no IMO worker can read
// any more: a sequencer's, at each daily prune of the IMOs
// (closeIdentity), the point of the sequence where its IMO workers
// prune theirs, at the same clock. An IMO worker reads an MMSI it is
// sent (its positions, name and IMO) only while the MMSI is one of its
// IMOs' users (recentlyActive, for a spell beginning within
// SameTimeMinutes of its last use), in a hand-over or in a conflict
// (their events, when they close). So, for an MMSI whose last use of an
// IMO was at u (at most its route's clock):
//
//   - at the first daily prune more than max(imoForget, resume) after u,
//     it is no IMO's user: the prune drops users idle more than
//     imoForget, and deletes an IMO whose last user is and that has
//     nothing open; it would keep the last user of an IMO with a
//     hand-over or conflict open, but what is still open at a prune
//     (closeIMO ran first) was done within resume of it, after u, by
//     another MMSI, which is then a later user. Not a user, it opens and
//     extends nothing more;
//   - a hand-over or conflict it is in was opened or extended at that
//     prune's clock or before, and closes at the first sweep more than
//     resume later (closeIMO runs at every sweep): at the latest at the
//     first daily prune more than resume after that one.
//
// The route is marked at the first, dropped at the second; an item of
// the MMSI after that is of no IMO worker's use, and a static report
// with an IMO routes it again with its state (Item.Adopt). Both steps
// are at the prunes, not at a time after u: event time may jump over
// days between two sweeps.
func (e *Engine) pruneRoutes() {
	forget := max(imoForget, e.resume)
	for m, r := range e.evictedRoutes {
		switch {
		case !r.forgotten && e.now.Sub(r.at) > forget:
			e.evictedRoutes[m] = evictedRoute{parts: r.parts, at: ceilHour(e.now), forgotten: true}
		case r.forgotten && e.now.Sub(r.at) > e.resume:
			delete(e.evictedRoutes, m)
		}
	}
}

// ForIMO says whether IMO partition p's worker takes the item: every
// tick, and the items of the MMSIs routed to it.
func (it *Item) ForIMO(p Partition) bool {
	if it.Tick() {
		return true
	}
	if it.Kind == ItemContact {
		return false
	}
	i := p.Index
	if p.Count <= 1 {
		i = 0
	}
	return it.IMOParts&(1<<uint(i)) != 0
}

// IMOWorker follows the users of one Partition's IMOs and emits their
// events (one IMO on two MMSIs, one MMSI taking over another's IMO), fed
// the sequencer's items (Apply). It is not safe for concurrent use.
type IMOWorker struct {
	e *Engine
	// Designated is the Engine's (severities).
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	rejected   int64
}

// NewIMOWorker builds the IMO worker of partition part (of at most 64),
// with the sequencer's settings.
func NewIMOWorker(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, part Partition, emit func(Event)) *IMOWorker {
	if part.Count > MaxIMOPartitions {
		panic(fmt.Sprintf("detect: IMO worker of %d partitions (at most %d)", part.Count, MaxIMOPartitions))
	}
	e := newEngine(cfg, land, ports, zones, emit, roleIMO)
	e.Part = part
	return &IMOWorker{e: e}
}

// Rejected is the number of items the worker could not apply (not in the
// sequencer's order, or an MMSI it was not given); other partitions'
// items are skipped, not rejected.
func (w *IMOWorker) Rejected() int64 { return w.rejected }

// TrackedVessels is the number of MMSIs the worker follows.
func (w *IMOWorker) TrackedVessels() int { return w.e.tracker.Tracked() }

// Apply runs the worker on the sequencer's next item.
func (w *IMOWorker) Apply(it *Item) {
	if !it.ForIMO(w.e.Part) {
		return
	}
	e := w.e
	e.now, e.Designated = it.Now, w.Designated
	switch it.Kind {
	case ItemFix:
		f := it.Fix
		_, vs, _, res := e.tracker.Place(f, int(it.Segment), it.Started)
		if res == track.Invalid {
			w.rejected++
			return
		}
		vs.lastT, vs.lastLat, vs.lastLon, vs.lastSeg = f.Time, f.Lat, f.Lon, it.Segment
	case ItemStatic:
		r := StaticIn(&it.Fix)
		if r == nil {
			w.rejected++
			return
		}
		if a := it.Adopt; a != nil && e.tracker.Lookup(r.MMSI) < 0 {
			v := e.vesselAt(r.MMSI)
			v.lastT, v.lastLat, v.lastLon, v.lastSeg = a.LastT, a.LastLat, a.LastLon, a.LastSeg
			v.static = staticInfo{a.IMO, a.Name}
			for _, s := range a.Segments {
				if _, _, _, res := e.tracker.Place(s.Last, int(s.ID), true); res == track.Invalid {
					w.rejected++
				}
			}
		}
		e.imoStatic(*r)
	case ItemClosed:
		if !e.tracker.CloseSegment(it.Fix.MMSI, int(it.Segment)) {
			w.rejected++
		}
	case ItemEvicted:
		// Its IMOs' state goes with it as vesselEvicted says.
		if !e.tracker.Drop(it.Fix.MMSI) {
			w.rejected++
		}
	case ItemSweepIdentity:
		e.closeIdentity(false)
	case ItemFlush:
		e.closeIdentity(true)
	}
}

// imoStatic is StaticReport as an IMO worker runs it: the MMSI's name,
// and the IMO's users when the IMO is the partition's.
func (e *Engine) imoStatic(r StaticReport) {
	if r.Time.IsZero() {
		return
	}
	if r.IMO == imoNotAvailable {
		r.IMO = 0
	}
	v := e.vesselAt(r.MMSI)
	v.static.set(r)
	if r.IMO != 0 && shipMMSI(r.MMSI) && identity.ValidShipIMO(int(r.IMO)) && e.Part.OwnsIMO(r.IMO) {
		e.imoUse(r)
	}
}

// Checkpoint reports the worker's open IMO conflicts (Status "open") and
// returns its state (an Engine checkpoint of its stage).
func (w *IMOWorker) Checkpoint() []byte {
	w.e.Designated = w.Designated
	return w.e.Checkpoint()
}

// Restore replaces a new worker's state with a checkpoint of a worker of
// the same partition and settings (else ErrCheckpointMismatch).
func (w *IMOWorker) Restore(b []byte) error { return w.e.Restore(b) }
