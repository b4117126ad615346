package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// Continuity. An engine can checkpoint: report the occurrences still
// open (Status "open", with the ID their closed version will carry) and
// serialise its whole state (the reorder window's fixes, the tracks and
// every run on them, encounter pairs, reception activity, identity state
// per MMSI and IMO, jump episodes). A new engine restored from the
// checkpoint goes on exactly as the first would have: the same input cut
// anywhere and fed to a chain of checkpointed and restored engines gives
// the same final events as one engine fed all of it
// (TestCheckpointContinuity, ingest's TestIngestInParts).

// checkpointMagic starts every checkpoint; the version after it changes
// whenever the layout does, and an older checkpoint is refused.
const checkpointMagic, checkpointVersion = "twdetect", 1

// ErrCheckpointMismatch is Restore's error for a checkpoint taken under
// other settings (thresholds, zones, or no land or ports): its state does
// not mean the same thing here.
var ErrCheckpointMismatch = errors.New("detect: checkpoint taken with other settings")

// environment names what a checkpoint's state depends on besides the
// fixes: the configuration (the reorder window apart, which a pass may
// change), the zones in their order (segments hold zone bits) and
// whether land and ports were loaded.
func (e *Engine) environment() string {
	c := e.cfg
	c.ReorderLatenessMinutes = 0
	b, _ := json.Marshal(c)
	h := sha256.New()
	h.Write(b)
	for _, z := range e.zones {
		fmt.Fprintf(h, "\x00%s/%s", z.ID, z.Kind)
	}
	fmt.Fprintf(h, "\x00land %v ports %v", e.land != nil, e.ports != nil)
	// A stage's state is not an Engine's, nor one worker's another's
	// (an Engine's environment is what it was before stages existed).
	switch e.role {
	case roleSeq:
		fmt.Fprintf(h, "\x00stage sequencer")
		if e.areas {
			fmt.Fprintf(h, " without encounters, IMOs in %d, reception in %d", e.imoParts, e.recParts)
		}
	case roleWorker, roleArea, rolePair, roleIMO, roleRec:
		p := e.Part
		if p.Count <= 1 {
			p = Partition{0, 1}
		}
		fmt.Fprintf(h, "\x00stage %s %d of %d", map[role]string{roleWorker: "worker", roleArea: "area", rolePair: "pairs", roleIMO: "imo", roleRec: "reception"}[e.role], p.Index, p.Count)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// Checkpoint reports, through the engine's emit function, every
// occurrence still open (Status "open"), and returns the engine's whole
// state. The engine goes on unchanged (a checkpoint is not a flush). Call
// it between feeds, never during one.
func (e *Engine) Checkpoint() []byte {
	e.reportOpen()
	return e.encode()
}

// reportOpen emits the occurrences open now whose final version is sure
// to exist, so that a store holding the open version never holds one the
// engine would not report: qualified encounters, loitering and port
// calls, identity changes, IMO conflicts, alternating jump episodes,
// inland runs and frozen runs past their threshold. Hand-overs, far
// jumps, outliers and gaps are reported when they close (what they are
// is only known then).
func (e *Engine) reportOpen() {
	type open struct {
		k  segKey
		ev Event
	}
	var evs []Event
	// Gaps are not reported open: a silence becomes a gap only when the
	// vessel is heard again (a flush does not report the silences going
	// on at the end of the data: the ship may have left the area, or
	// changed MMSI), so an open version would stay in a store that no
	// final version ever replaces, or be closed by a flush into a gap
	// that detecting the same data at once does not find.
	keys := make([]pairKey, 0, len(e.pairs))
	for k := range e.pairs {
		keys = append(keys, k)
	}
	sortPairs(keys)
	for _, k := range keys {
		p := e.pairs[k]
		var ev *Event
		if p.samples > 0 && p.qualified {
			if w, ok := e.windowEvent(k, p); ok {
				ev = &w
			}
		}
		if ev == nil && p.pending != nil {
			w := *p.pending
			ev = &w
		}
		if ev != nil {
			ev.Status = StatusOpen
			evs = append(evs, *ev)
		}
	}
	segs := e.openSegments()
	for _, s := range segs {
		st := &s.Data
		if r := st.runs; r != nil {
			if st.slow && r.slowQualified {
				if ev, ok := e.loiterEvent(st, r, true); ok {
					evs = append(evs, ev)
				}
			}
			if st.stopped {
				if ev, ok := e.portCallEvent(st, r, true); ok {
					evs = append(evs, ev)
				}
			}
			if st.onLand {
				evs = append(evs, e.landEvent(st, true))
			}
			if int(st.frozen) >= e.cfg.SpoofFrozenFixes {
				evs = append(evs, e.frozenEvent(st, int(st.frozen), true))
			}
		}
		if j := st.jump; j != nil && j.conflict(e.cfg.JumpConfirmFixes) {
			evs = append(evs, e.jumpEvent(s, j, true))
		}
	}
	mmsis := make([]uint32, 0, len(e.identPending))
	for m := range e.identPending {
		mmsis = append(mmsis, m)
	}
	slices.Sort(mmsis)
	for _, m := range mmsis {
		if v := e.known(m); v != nil && v.ident != nil {
			for _, c := range v.ident.pending {
				evs = append(evs, e.changeEvent(m, c, true))
			}
		}
	}
	imos := make([]uint32, 0, len(e.imoPending))
	for x := range e.imoPending {
		imos = append(imos, x)
	}
	slices.Sort(imos)
	for _, x := range imos {
		if st := e.imos[x]; st != nil {
			for _, c := range st.conflicts {
				evs = append(evs, e.imoConflictEvent(x, c, true))
			}
		}
	}
	for _, ev := range evs {
		e.emit(ev)
	}
}

// openSegments lists the tracker's open segments in MMSI and ID order.
func (e *Engine) openSegments() []*segment {
	var segs []*segment
	sn := e.tracker.Snapshot()
	for _, v := range sn.Vessels {
		if !v.Free {
			segs = append(segs, v.Segs...)
		}
	}
	slices.SortFunc(segs, func(a, b *segment) int {
		if a.MMSI != b.MMSI {
			return int(int64(a.MMSI) - int64(b.MMSI))
		}
		return a.ID - b.ID
	})
	return segs
}

// HeldPositions is the number of positions (static reports apart) in the
// reorder window, of the MMSIs the engine's partition owns: what a
// checkpoint holds back until later data releases it, or a flush.
func (e *Engine) HeldPositions() int64 {
	var n int64
	e.reorder.EachHeld(func(f *track.Fix) {
		if StaticIn(f) == nil && e.Part.OwnsMMSI(f.MMSI) {
			n++
		}
	})
	return n
}

// SetLateness changes the reorder window, running the detectors on the
// fixes now older than it: after a pass that read its input sorted whole,
// the checkpoint keeps only the usual window.
func (e *Engine) SetLateness(d time.Duration) {
	e.reorder.SetLateness(d, e.collector())
	e.processReleased()
}

func (e *Engine) encode() []byte {
	// Sized up front from the fixes held and the vessels: a buffer grown
	// by doubling would hold half as much again while it copies.
	w := &enc{b: make([]byte, 0, 4096+e.reorder.Held()*56+e.tracker.Tracked()*160+e.tracker.Active()*160)}
	w.b = append(w.b, checkpointMagic...)
	w.u(checkpointVersion)
	w.s(e.environment())
	w.t(e.now)
	w.t(e.sweepAt)
	w.t(e.imoPruned)
	rs := e.reorder.State(false)
	w.i(int64(rs.Lateness))
	w.i(rs.Late)
	w.t(rs.Max)
	w.bool(rs.HasLastOut)
	w.fix(rs.LastOut)
	w.u(uint64(e.reorder.Held()))
	e.reorder.EachHeld(func(f *track.Fix) { w.fix(*f) })
	sn := e.tracker.Snapshot()
	w.t(sn.Now)
	w.t(sn.SweepAt)
	w.i(sn.Evictions)
	w.u(uint64(len(sn.Free)))
	for _, i := range sn.Free {
		w.u(uint64(i))
	}
	w.u(uint64(len(sn.Vessels)))
	for _, v := range sn.Vessels {
		w.bool(v.Free)
		if v.Free {
			continue
		}
		w.u(uint64(v.MMSI))
		w.u(uint64(v.NextID))
		w.t(v.Seen)
		w.vessel(&v.Data)
		w.u(uint64(len(v.Segs)))
		for _, s := range v.Segs {
			w.u(uint64(s.ID))
			w.u(uint64(s.Fixes))
			w.fix(s.Last)
			w.segState(&s.Data, len(e.zones))
		}
	}
	keys := make([]pairKey, 0, len(e.pairs))
	for k := range e.pairs {
		keys = append(keys, k)
	}
	sortPairs(keys)
	w.u(uint64(len(keys)))
	for _, k := range keys {
		w.segKey(k.a)
		w.segKey(k.b)
		w.pair(e.pairs[k])
	}
	akeys := make([]activityKey, 0, len(e.activity))
	for k := range e.activity {
		akeys = append(akeys, k)
	}
	slices.SortFunc(akeys, func(a, b activityKey) int {
		if a.hour != b.hour {
			return int(a.hour - b.hour)
		}
		if a.lat != b.lat {
			return int(a.lat) - int(b.lat)
		}
		return int(a.lon) - int(b.lon)
	})
	w.u(uint64(len(akeys)))
	for _, k := range akeys {
		w.i(int64(k.lat))
		w.i(int64(k.lon))
		w.i(k.hour)
		w.i(int64(e.activity[k]))
	}
	imos := make([]uint32, 0, len(e.imos))
	for x := range e.imos {
		imos = append(imos, x)
	}
	slices.Sort(imos)
	w.u(uint64(len(imos)))
	for _, x := range imos {
		st := e.imos[x]
		w.u(uint64(x))
		w.u(uint64(len(st.users)))
		for _, u := range st.users {
			w.u(uint64(u.mmsi))
			w.t(u.first)
			w.t(u.last)
		}
		w.bool(st.hand != nil)
		if h := st.hand; h != nil {
			w.u(uint64(h.from))
			w.u(uint64(h.to))
			w.t(h.fromLast)
			w.t(h.toFirst)
			w.f(h.lat)
			w.f(h.lon)
		}
		w.u(uint64(len(st.conflicts)))
		for _, c := range st.conflicts {
			w.u(uint64(c.a))
			w.u(uint64(c.b))
			w.t(c.start)
			w.t(c.last)
		}
	}
	w.sortedSet(e.imoPending)
	w.sortedSet(e.identPending)
	w.u(uint64(len(e.jumping)))
	for _, s := range e.jumping {
		w.u(uint64(s.MMSI))
		w.u(uint64(s.ID))
	}
	if e.role == roleSeq {
		w.u(e.itemSeq) // the items' numbers go on from it
		if e.imoParts > 0 {
			// Each MMSI's IMO partitions, in the vessels' order.
			for _, v := range sn.Vessels {
				if !v.Free {
					w.u(v.Data.imoParts)
				}
			}
			e.encodeRoutes(w)
		}
	}
	return w.b
}

// encodeRoutes writes the evicted MMSIs' routes: first an empty list
// (an earlier build wrote each route there, MMSI and partitions, with no
// clock), then the routes in MMSI order, each as the difference from the
// MMSI before, its partitions, and its clock as whole hours before the
// checkpoint's (rounded up: a route's clock is at most that) and
// whether it is forgotten (the lowest bit): about 5 bytes a route.
func (e *Engine) encodeRoutes(w *enc) {
	w.u(0)
	ms := make([]uint32, 0, len(e.evictedRoutes))
	for m := range e.evictedRoutes {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	w.u(uint64(len(ms)))
	clock := ceilHour(e.now)
	var prev uint32
	for _, m := range ms {
		r := e.evictedRoutes[m]
		w.u(uint64(m - prev))
		prev = m
		w.u(r.parts)
		h := uint64(max(clock-r.at, 0) / track.Time(time.Hour))
		if r.forgotten {
			w.u(h<<1 | 1)
		} else {
			w.u(h << 1)
		}
	}
}

// decodeRoutes reads encodeRoutes' form into n (whose clock is set). A
// checkpoint of the build before routes had a clock has each route in
// the first list and ends after it: those routes take the checkpoint's
// clock, which is after the evictions (they are kept as long as an MMSI
// evicted then would be).
func (r *dec) decodeRoutes(n *Engine) {
	clock := ceilHour(n.now)
	k := r.n()
	for i := 0; i < k && r.err == nil; i++ {
		n.evictedRoutes[uint32(r.u())] = evictedRoute{parts: r.u(), at: clock}
	}
	if len(r.b) == 0 {
		return // an earlier build's
	}
	k = r.n()
	var m uint64
	for i := 0; i < k && r.err == nil; i++ {
		m += r.u()
		parts, h := r.u(), r.u()
		if m > math.MaxUint32 || parts == 0 || h>>1 > uint64(clock/track.Time(time.Hour)) {
			r.fail()
			break
		}
		n.evictedRoutes[uint32(m)] = evictedRoute{parts: parts, at: clock - track.Time(h>>1)*track.Time(time.Hour), forgotten: h&1 != 0}
	}
}

func (w *enc) sortedSet(m map[uint32]struct{}) {
	ks := make([]uint32, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	w.u(uint64(len(ks)))
	for _, k := range ks {
		w.u(uint64(k))
	}
}

func (w *enc) segKey(k segKey) {
	w.u(uint64(k.mmsi))
	w.u(uint64(k.id))
}

func (w *enc) pt(p pt) {
	w.t(p.Time)
	w.f(p.Lat)
	w.f(p.Lon)
}

// fix writes a fix with its source and, for a static report, the report.
func (w *enc) fix(f track.Fix) {
	w.u(uint64(f.MMSI))
	w.t(f.Time)
	w.f(f.Lat)
	w.f(f.Lon)
	w.f(f.SOG)
	w.f(f.COG)
	w.bool(f.Extra != nil)
	if f.Extra == nil {
		return
	}
	w.s(f.Extra.Source)
	r := StaticIn(&f)
	w.bool(r != nil)
	if r == nil {
		return
	}
	w.u(uint64(r.MMSI))
	w.t(r.Time)
	w.u(uint64(r.IMO))
	w.s(r.Name)
	w.s(r.CallSign)
	w.u(uint64(r.ShipType))
	w.f(r.Draught)
	w.s(r.Destination)
	w.i(int64(r.LengthM))
	w.bool(r.ClassB)
	w.s(r.Source)
}

func (w *enc) vessel(v *vesselState) {
	w.t(v.lastT)
	w.f(v.lastLat)
	w.f(v.lastLon)
	w.i(int64(v.lastSeg))
	w.u(uint64(v.flagged))
	w.bool(v.gapOpen)
	w.u(uint64(v.static.imo))
	w.s(v.static.name)
	w.bool(v.ident != nil)
	if s := v.ident; s != nil {
		w.u(uint64(s.imo))
		w.s(s.name)
		w.s(s.callSign)
		w.s(s.dest)
		w.u(uint64(s.shipType))
		w.f(s.draught)
		w.t(s.draughtAt)
		w.f(s.draughtLat)
		w.f(s.draughtLon)
		w.i(int64(s.lengthM))
		w.bool(s.classB)
		w.bool(s.imoValid)
		w.bool(s.seen)
		w.s(s.checkedCallSign)
		w.t(s.lastPortCallEnd)
		w.u(uint64(len(s.pending)))
		for _, c := range s.pending {
			w.s(c.field)
			w.s(c.from)
			w.s(c.to)
			w.t(c.start)
			w.t(c.last)
			w.i(int64(c.changes))
			w.f(c.lat)
			w.f(c.lon)
			w.bool(c.toFishing)
			w.f(c.fromM)
			w.f(c.toM)
			w.f(c.fromPos[0])
			w.f(c.fromPos[1])
		}
	}
}

func (w *enc) segState(st *segState, nzones int) {
	w.bool(st.jump != nil)
	if j := st.jump; j != nil {
		w.i(int64(j.originID))
		w.fix(j.origin)
		w.fix(j.first)
		w.fix(j.far)
		w.i(int64(j.nearFixes))
		w.i(int64(j.farFixes))
		w.i(int64(j.switches))
		w.t(j.farLast)
		w.t(j.nearLast)
		w.bool(j.lastFar)
	}
	w.t(st.entry.t)
	w.f(st.entry.lat)
	w.f(st.entry.lon)
	w.f(st.entry.speed)
	w.bool(st.zones != nil)
	if z := st.zones; z != nil {
		for i := 0; i < nzones; i++ {
			w.t(z.since[i])
			w.fix(z.pend[i])
			w.bool(z.in[i])
		}
		w.i(int64(z.pending))
	}
	w.u(st.inMask)
	w.t(st.lastAtSea)
	w.i(int64(st.frozen))
	w.segKey(st.key)
	w.bool(st.inCell)
	w.i(int64(st.cell.x))
	w.i(int64(st.cell.y))
	w.i(int64(st.activity.lat))
	w.i(int64(st.activity.lon))
	w.i(st.activity.hour)
	w.bool(st.counted)
	w.bool(st.slow)
	w.bool(st.stopped)
	w.bool(st.onLand)
	w.bool(st.runs != nil)
	if r := st.runs; r != nil {
		w.i(int64(r.slowN))
		w.bool(r.slowQualified)
		w.f(r.slowLat)
		w.f(r.slowLon)
		w.f(r.slowSpeeds)
		w.pt(r.slowStart)
		w.pt(r.slowLast)
		w.t(r.slowFastSince)
		w.t(r.slowChecked)
		w.f(r.stopPortDist)
		w.pt(r.stopStart)
		w.pt(r.stopLast)
		w.t(r.stopFastSince)
		p := r.stopPort
		w.s(p.Name)
		w.s(p.Country)
		w.s(p.LOCODE)
		w.f(p.Lat)
		w.f(p.Lon)
		w.bool(p.DPRK)
		w.s(p.Source)
		w.pt(r.landStart)
		w.pt(r.landLast)
		w.i(int64(r.landFixes))
		w.f(r.landInlandKM)
		w.t(r.landAtSea)
		w.pt(r.frozenStart)
		w.pt(r.frozenL)
		w.f(r.frozenSOG)
	}
}

func (w *enc) pair(p *pairState) {
	w.t(p.start)
	w.t(p.last)
	w.i(int64(p.samples))
	w.f(p.latSum)
	w.f(p.lonSum)
	w.f(p.minDist)
	n := 0
	for _, c := range p.speeds {
		if c != 0 {
			n++
		}
	}
	w.u(uint64(n))
	for i, c := range p.speeds {
		if c != 0 {
			w.u(uint64(i))
			w.u(uint64(c))
		}
	}
	w.bool(p.qualified)
	var pe []byte
	if p.pending != nil {
		pe, _ = json.Marshal(p.pending)
	}
	w.bytes(pe)
}

// Restore replaces a new engine's state with a checkpoint's. The engine
// must have been built with the same settings (NewEngine's arguments);
// otherwise the error is ErrCheckpointMismatch. A corrupt checkpoint is
// an error too, and leaves the engine as it was.
func (e *Engine) Restore(b []byte) error {
	if len(b) < len(checkpointMagic) || string(b[:len(checkpointMagic)]) != checkpointMagic {
		if len(b) >= len(workerMagic) && string(b[:len(workerMagic)]) == workerMagic ||
			len(b) >= len(areaMagic) && string(b[:len(areaMagic)]) == areaMagic {
			return ErrCheckpointMismatch // a vessel or area worker's
		}
		return errCorrupt
	}
	r := &dec{b: b[len(checkpointMagic):]}
	if v := r.u(); v != checkpointVersion {
		return fmt.Errorf("detect: checkpoint version %d, this build reads %d", v, checkpointVersion)
	}
	if env := r.s(); env != e.environment() {
		return ErrCheckpointMismatch
	}
	// Decode into a fresh engine, then take its state: a corrupt
	// checkpoint changes nothing.
	n := newEngine(e.cfg, e.land, e.ports, e.zones, e.out, e.role)
	n.send = e.send
	n.now, n.sweepAt, n.imoPruned = r.t(), r.t(), r.t()
	var rs track.ReorderState
	rs.Lateness = time.Duration(r.i())
	rs.Late = r.i()
	rs.Max = r.t()
	rs.HasLastOut = r.bool()
	rs.LastOut = r.fix()
	k := r.n()
	if k > len(r.b)/35 { // a fix takes 35 bytes or more
		r.fail()
		k = 0
	}
	// A power of two the reorder buffer can keep as its ring.
	c := 1024
	for c < k {
		c *= 2
	}
	rs.Fixes = make([]track.Fix, 0, c)
	for i := 0; i < k && r.err == nil; i++ {
		rs.Fixes = append(rs.Fixes, r.fix())
	}
	var sn track.Snapshot[segState, vesselState]
	sn.Now, sn.SweepAt, sn.Evictions = r.t(), r.t(), r.i()
	k = r.n()
	for i := 0; i < k && r.err == nil; i++ {
		sn.Free = append(sn.Free, int32(r.u()))
	}
	k = r.n()
	sn.Vessels = make([]track.SnapshotVessel[segState, vesselState], k)
	bySeg := map[segKey]*segment{}
	for i := 0; i < k && r.err == nil; i++ {
		v := &sn.Vessels[i]
		if v.Free = r.bool(); v.Free {
			continue
		}
		v.MMSI = uint32(r.u())
		v.NextID = int(r.u())
		v.Seen = r.t()
		r.vessel(&v.Data)
		ns := r.n()
		for j := 0; j < ns && r.err == nil; j++ {
			s := &segment{MMSI: v.MMSI, ID: int(r.u()), Fixes: int(r.u())}
			s.Last = r.fix()
			r.segState(&s.Data, len(e.zones))
			v.Segs = append(v.Segs, s)
			bySeg[segKey{s.MMSI, s.ID}] = s
		}
	}
	k = r.n()
	for i := 0; i < k && r.err == nil; i++ {
		pk := pairKey{r.segKey(), r.segKey()}
		n.pairs[pk] = r.pair()
	}
	k = r.n()
	for i := 0; i < k && r.err == nil; i++ {
		ak := activityKey{lat: int16(r.i()), lon: int16(r.i()), hour: r.i()}
		n.activity[ak] = int32(r.i())
	}
	k = r.n()
	for i := 0; i < k && r.err == nil; i++ {
		x := uint32(r.u())
		st := &imoState{}
		nu := r.n()
		for j := 0; j < nu && r.err == nil; j++ {
			st.users = append(st.users, imoUser{mmsi: uint32(r.u()), first: r.t(), last: r.t()})
		}
		if r.bool() {
			st.hand = &handover{from: uint32(r.u()), to: uint32(r.u()), fromLast: r.t(), toFirst: r.t(), lat: r.f(), lon: r.f()}
		}
		nc := r.n()
		for j := 0; j < nc && r.err == nil; j++ {
			st.conflicts = append(st.conflicts, &imoConflict{a: uint32(r.u()), b: uint32(r.u()), start: r.t(), last: r.t()})
		}
		if len(st.users) == 0 {
			r.fail()
		}
		n.imos[x] = st
	}
	for _, set := range []map[uint32]struct{}{n.imoPending, n.identPending} {
		k = r.n()
		for i := 0; i < k && r.err == nil; i++ {
			set[uint32(r.u())] = struct{}{}
		}
	}
	k = r.n()
	for i := 0; i < k && r.err == nil; i++ {
		s := bySeg[r.segKey()]
		if s == nil || s.Data.jump == nil {
			r.fail()
			break
		}
		n.jumping = append(n.jumping, s)
	}
	if e.role == roleSeq && len(r.b) > 0 {
		// (A sequencer's checkpoint of the build before items were
		// numbered ends before it: they go on from 0.)
		n.itemSeq = r.u()
		if e.imoParts > 0 {
			for i := range sn.Vessels {
				if v := &sn.Vessels[i]; !v.Free {
					v.Data.imoParts = r.u()
				}
			}
			r.decodeRoutes(n)
		}
	}
	n.areas, n.imoParts, n.recParts = e.areas, e.imoParts, e.recParts
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return errCorrupt
	}
	n.reorder.Restore(rs)
	n.tracker.Restore(sn)
	// The grid is rebuilt from the segments that were in it.
	for _, s := range bySeg {
		if st := &s.Data; st.inCell {
			st.inCell = false
			n.addToCell(st, st.cell)
		}
	}
	// Take the restored state; keep the caller's hooks.
	n.Designated, n.Observe, n.Forget, n.StopWhenLate = e.Designated, e.Observe, e.Forget, e.StopWhenLate
	if e.role != roleEngine {
		n.Part = e.Part // a stage's partition is part of its state
	}
	*e = *n
	e.tracker.Closed = e.segmentClosed
	e.tracker.Evicted = e.vesselEvicted
	e.collect = nil
	return nil
}

func (r *dec) segKey() segKey { return segKey{uint32(r.u()), int(r.u())} }

func (r *dec) pt() pt { return pt{r.t(), r.f(), r.f()} }

func (r *dec) fix() track.Fix {
	f := track.Fix{MMSI: uint32(r.u()), Time: r.t(), Lat: r.f(), Lon: r.f(), SOG: r.f(), COG: r.f()}
	if !r.bool() {
		return f
	}
	src := r.s()
	if !r.bool() {
		// Positions of one source share one Extra, as the decoder's do.
		x := r.extras[src]
		if x == nil {
			if r.extras == nil {
				r.extras = map[string]*track.Extra{}
			}
			x = &track.Extra{Source: src}
			r.extras[src] = x
		}
		f.Extra = x
		return f
	}
	rep := StaticReport{MMSI: uint32(r.u()), Time: r.t(), IMO: uint32(r.u()), Name: r.s(), CallSign: r.s(), ShipType: uint8(r.u()),
		Draught: r.f(), Destination: r.s(), LengthM: int(r.i()), ClassB: r.bool(), Source: r.s()}
	g := staticFix(rep)
	g.Extra.Source = src
	f.Extra = g.Extra
	return f
}

func (r *dec) vessel(v *vesselState) {
	v.lastT, v.lastLat, v.lastLon = r.t(), r.f(), r.f()
	v.lastSeg = int32(r.i())
	v.flagged = uint16(r.u())
	v.gapOpen = r.bool()
	v.static.imo = uint32(r.u())
	v.static.name = r.s()
	if !r.bool() {
		return
	}
	s := &staticState{}
	s.imo = uint32(r.u())
	s.name, s.callSign, s.dest = r.s(), r.s(), r.s()
	s.shipType = uint8(r.u())
	s.draught, s.draughtAt, s.draughtLat, s.draughtLon = r.f(), r.t(), r.f(), r.f()
	s.lengthM = int(r.i())
	s.classB, s.imoValid, s.seen = r.bool(), r.bool(), r.bool()
	s.checkedCallSign = r.s()
	s.lastPortCallEnd = r.t()
	k := r.n()
	for i := 0; i < k && r.err == nil; i++ {
		c := fieldChange{field: r.s(), from: r.s(), to: r.s(), start: r.t(), last: r.t(), changes: int(r.i()), lat: r.f(), lon: r.f(),
			toFishing: r.bool(), fromM: r.f(), toM: r.f()}
		c.fromPos = LatLon{r.f(), r.f()}
		s.pending = append(s.pending, c)
	}
	v.ident = s
}

func (r *dec) segState(st *segState, nzones int) {
	if r.bool() {
		j := &jumpInfo{originID: int(r.i())}
		j.origin, j.first, j.far = r.fix(), r.fix(), r.fix()
		j.nearFixes, j.farFixes, j.switches = int(r.i()), int(r.i()), int(r.i())
		j.farLast, j.nearLast, j.lastFar = r.t(), r.t(), r.bool()
		st.jump = j
	}
	st.entry = cellEntry{t: r.t(), lat: r.f(), lon: r.f(), speed: r.f()}
	if r.bool() {
		z := &zoneState{since: make([]track.Time, nzones), pend: make([]track.Fix, nzones), in: make([]bool, nzones)}
		for i := 0; i < nzones && r.err == nil; i++ {
			z.since[i], z.pend[i], z.in[i] = r.t(), r.fix(), r.bool()
		}
		z.pending = int(r.i())
		st.zones = z
	}
	st.inMask = r.u()
	st.lastAtSea = r.t()
	st.frozen = int32(r.i())
	st.key = r.segKey()
	st.inCell = r.bool()
	st.cell = cellKey{int32(r.i()), int32(r.i())}
	st.activity = activityKey{lat: int16(r.i()), lon: int16(r.i()), hour: r.i()}
	st.counted, st.slow, st.stopped, st.onLand = r.bool(), r.bool(), r.bool(), r.bool()
	if !r.bool() {
		return
	}
	ru := &runState{}
	ru.slowN = int32(r.i())
	ru.slowQualified = r.bool()
	ru.slowLat, ru.slowLon, ru.slowSpeeds = r.f(), r.f(), r.f()
	ru.slowStart, ru.slowLast = r.pt(), r.pt()
	ru.slowFastSince, ru.slowChecked = r.t(), r.t()
	ru.stopPortDist = r.f()
	ru.stopStart, ru.stopLast = r.pt(), r.pt()
	ru.stopFastSince = r.t()
	ru.stopPort = geo.Port{Name: r.s(), Country: r.s(), LOCODE: r.s(), Lat: r.f(), Lon: r.f(), DPRK: r.bool(), Source: r.s()}
	ru.landStart, ru.landLast = r.pt(), r.pt()
	ru.landFixes = int32(r.i())
	ru.landInlandKM = r.f()
	ru.landAtSea = r.t()
	ru.frozenStart, ru.frozenL = r.pt(), r.pt()
	ru.frozenSOG = r.f()
	st.runs = ru
}

func (r *dec) pair() *pairState {
	p := &pairState{start: r.t(), last: r.t(), samples: int(r.i()), latSum: r.f(), lonSum: r.f(), minDist: r.f()}
	k := r.n()
	for i := 0; i < k && r.err == nil; i++ {
		b, c := r.u(), r.u()
		if b >= uint64(len(p.speeds)) {
			r.fail()
			break
		}
		p.speeds[b] = uint16(c)
	}
	p.qualified = r.bool()
	if pe := r.bytes(); len(pe) > 0 {
		var ev Event
		if err := json.Unmarshal(pe, &ev); err != nil {
			r.fail()
		}
		p.pending = &ev
	}
	return p
}
