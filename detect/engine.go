package detect

import (
	"math"
	"sort"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/track"
)

// Engine runs the detectors over a stream of fixes. Feed it with Position
// (any order within the reorder lateness) and Static, or a whole AIS source
// with FeedAIS or FeedAISConcurrent, then Flush at the end. It is not safe
// for concurrent use. An Engine runs both stages of detection on one
// state: the sequencer's and the vessel workers' (sequence.go; split over
// processes, NewSequencer and NewVesselWorker).
type Engine struct {
	cfg     Config
	land    *geo.Land
	ports   *geo.Ports
	zones   []*geo.Zone
	out     func(Event)
	tracker *track.Tracker[segState, vesselState]
	reorder *track.Reorder
	// encounter state
	cells     map[cellKey]*segState // the first ship of each occupied cell
	zoneIndex *geo.ZoneIndex        // nil: no zones, or test each zone
	// released gathers the fixes the reorder buffer releases in a batch
	// (collect appends to it), so processAll can look ahead.
	released []track.Fix
	collect  func(track.Fix)
	// cellPort caches each encounter cell's port proximity (awayFromPort).
	cellPort map[cellKey]uint8
	pairs    map[pairKey]*pairState
	// reception activity: 1-degree cell and hour -> fixes
	activity map[activityKey]int32
	// identity state per IMO, and the IMOs and MMSIs with occurrences
	// waiting to close (swept hourly).
	imos         map[uint32]*imoState
	imoPending   map[uint32]struct{}
	identPending map[uint32]struct{}
	imoPruned    track.Time
	// jumping lists the segments with a jump episode open (spoof.go).
	jumping []*segment
	// Designated, when set, says whether an IMO or MMSI belongs to a
	// designated (sanctioned) vessel, which listing, and the flag the
	// lists record for it (ISO alpha-2, "" when none).
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	// Observe, when set, sees every fix the detectors use, in event-time
	// order, after the detectors ran on it: positions with the track
	// segment they joined and static reports (StaticIn gives the report;
	// segment -1). Ingest stores what it sees.
	Observe func(f track.Fix, segment int)
	// Forget, when set, is told each MMSI evicted to stay under
	// Config.MaxVessels, after the events that closed with it, in the
	// order of the fixes (Observe's): ingest drops its own state for it.
	Forget func(mmsi uint32)
	// StopWhenLate makes FeedAIS and FeedAISConcurrent return
	// ErrOutOfOrder at the first fix later than the reorder window, for
	// callers that then read the input again sorted whole.
	StopWhenLate bool
	// Part, when split (Count > 1), makes the engine emit only the
	// events its partition owns, and run the per-vessel detectors and
	// Observe only for its MMSIs (see Partition). Set it before the
	// first fix.
	Part Partition
	// role says which stages the engine runs: both (an Engine), the
	// sequencer's only (send receives what the vessel workers need) or
	// a vessel worker's (sequence.go).
	role role
	send func(Item)
	// itemSeq is the number of the sequencer's last item (Item.Seq).
	itemSeq uint64
	// areas: a sequencer whose encounters area and pair workers find
	// (NewAreaSequencer), or an area worker; scanSeq is the Seq of the
	// fix an area worker scans from.
	areas   bool
	scanSeq uint64
	// imoParts: a sequencer whose IMO work IMO workers of that many
	// partitions do (NewAreaSequencer); 0, its own.
	imoParts int
	adopt    *Adoption // the next static item's (routeIMO)
	// evictedRoutes keeps an evicted MMSI's IMO partitions for when it
	// is heard again (it may still be one of their IMOs' users), until
	// the IMO workers can no longer read it (pruneRoutes).
	evictedRoutes map[uint32]evictedRoute
	// recParts: a sequencer whose reception counts and gaps reception
	// workers of that many partitions keep (NewAreaSequencer); gapOut is
	// the gap its current fix ends.
	recParts int
	gapOut   *GapStart
	now      track.Time
	sweepAt  track.Time
	// durations from cfg, precomputed
	gapMin, resume, runBreak, zoneDwell time.Duration
}

type segKey struct {
	mmsi uint32
	id   int
}

type staticInfo struct {
	imo  uint32
	name string
}

// vesselState is what the engine keeps per MMSI, inline in the tracker's
// entry: its last position (for gaps, which are per MMSI: one dark
// period of a ship is one gap however many segments it had), its last
// IMO and name, and its identity state (nil until its first static
// report).
type vesselState struct {
	lastT            track.Time
	lastLat, lastLon float64
	lastSeg          int32
	flagged          uint16 // inconsistencies reported (flag* bits)
	imoParts         uint64 // a sequencer's: the IMO partitions its items go to (bit i: partition i)
	gapOpen          bool   // a checkpoint of an earlier build reported the silence since lastT as an open gap
	static           staticInfo
	ident            *staticState
}

// vesselAt returns the MMSI's state, creating its entry (which may evict
// idle vessels first). The pointer is valid until the next call that may
// create an entry.
func (e *Engine) vesselAt(mmsi uint32) *vesselState {
	return e.tracker.Data(e.tracker.Index(mmsi))
}

// known returns the MMSI's state or nil, creating nothing.
func (e *Engine) known(mmsi uint32) *vesselState {
	if i := e.tracker.Lookup(mmsi); i >= 0 {
		return e.tracker.Data(i)
	}
	return nil
}

type segState struct {
	// Hot fields first: every fix reads or writes these, and with ten
	// thousand ships' state out of cache each cache line of this struct a
	// fix touches is a miss. The runs' fixes (cold unless the ship is
	// slow, stopped or frozen) come last.
	jump      *jumpInfo
	entry     cellEntry // this segment's latest position in the encounter grid
	cellNext  *segState // the grid's list of the cell's ships
	cellPrev  *segState
	zones     *zoneState
	inMask    uint64 // bit i: confirmed inside zone i (i < 64)
	lastAtSea track.Time
	frozen    int32
	key       segKey
	cell      cellKey
	activity  activityKey
	inCell    bool
	slow      bool
	stopped   bool
	counted   bool
	onLand    bool
	// runs: loitering, port call, inland spoofing, frozen positions
	runs *runState
}

// runState is a segment's loitering, port-call and spoofing runs,
// allocated when the segment first needs one (most fixes of most ships
// never do). Positions are kept as time and place only (pt, 24 bytes).
type runState struct {
	// loitering run
	slowN                        int32
	slowQualified                bool
	slowLat, slowLon, slowSpeeds float64
	slowStart, slowLast          pt
	slowFastSince                track.Time // first fast fix of a spell that has not yet ended the run
	slowChecked                  track.Time // last qualification check
	// port-call run
	stopPortDist        float64
	stopStart, stopLast pt
	stopFastSince       track.Time
	stopPort            geo.Port
	// inland positions
	landStart, landLast pt
	landFixes           int32
	landInlandKM        float64
	landAtSea           track.Time
	// frozen positions
	frozenStart, frozenL pt
	frozenSOG            float64
}

// pt is a fix's time and place.
type pt struct {
	Time     track.Time
	Lat, Lon float64
}

func ptOf(f track.Fix) pt { return pt{f.Time, f.Lat, f.Lon} }

func (st *segState) run() *runState {
	if st.runs == nil {
		st.runs = &runState{}
	}
	return st.runs
}

// NewEngine builds an engine. land, ports and zones may be nil, which
// disables what needs them (shore distances, port exclusions and port
// calls, zone events).
func NewEngine(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, emit func(Event)) *Engine {
	return newEngine(cfg, land, ports, zones, emit, roleEngine)
}

func newEngine(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, emit func(Event), r role) *Engine {
	e := &Engine{cfg: cfg, land: land, ports: ports, zones: zones, out: emit, role: r,
		cells: map[cellKey]*segState{}, cellPort: map[cellKey]uint8{}, pairs: map[pairKey]*pairState{}, activity: map[activityKey]int32{},
		imos: map[uint32]*imoState{}, imoPending: map[uint32]struct{}{}, identPending: map[uint32]struct{}{}, evictedRoutes: map[uint32]evictedRoute{}}
	e.gapMin = hours(cfg.GapMinHours)
	e.resume = hours(cfg.IdentityResumeHours)
	e.runBreak = minutes(cfg.RunBreakMinutes)
	e.zoneDwell = minutes(cfg.ZoneDwellMinutes)
	e.zoneIndex = geo.NewZoneIndex(zones)
	tc := track.Config{MaxSpeedKn: cfg.MaxTrackSpeedKn, MinInterval: minutes(cfg.TrackMinIntervalMin), MaxVessels: cfg.MaxVessels}
	if r == roleWorker || r == rolePair || r == roleIMO || r == roleRec {
		// A worker's tracker follows the sequencer's: it never evicts
		// on its own (the sequencer's evictions come as items).
		tc.MaxVessels = math.MaxInt
	}
	e.tracker = track.NewTracker[segState, vesselState](tc)
	e.tracker.Closed = e.segmentClosed
	e.tracker.Evicted = e.vesselEvicted
	e.reorder = track.NewReorder(minutes(cfg.ReorderLatenessMinutes))
	return e
}

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

// minutes converts, saturating: a window of math.MaxInt32 minutes (a
// pass read sorted whole) is the longest duration, not an overflow.
func minutes(m float64) time.Duration {
	if d := m * float64(time.Minute); d < float64(math.MaxInt64) {
		return time.Duration(d)
	}
	return math.MaxInt64
}

// emit completes an event (flags, status, ID, severity) and hands it on.
func (e *Engine) emit(ev Event) {
	if e.Part.Count > 1 && e.role != roleRec && !e.Part.Owns(&ev) {
		return
	}
	for i := range ev.Vessels {
		if ev.Vessels[i].MIDFlag == "" {
			if f, ok := identity.MMSI(ev.Vessels[i].MMSI).Flag(); ok {
				ev.Vessels[i].MIDFlag = string(f)
			}
		}
	}
	if ev.Status == "" {
		ev.Status = StatusClosed
	}
	ev.ID = ev.OccurrenceID()
	ev.Severity = e.severity(&ev)
	e.out(ev)
}

// Static records a static report. Static reports go through the same
// reorder buffer as positions, so identity events see the positions of
// their time.
func (e *Engine) Static(r StaticReport) { e.reorder.Push(staticFix(r), e.process) }

// staticFix is a static report as the reorder buffer holds it: the
// report and its Extra in one allocation.
func staticFix(r StaticReport) track.Fix {
	b := &struct {
		extra  track.Extra
		report StaticReport
	}{report: r}
	b.extra = track.Extra{Source: r.Source, Static: &b.report}
	return track.Fix{MMSI: r.MMSI, Time: r.Time, Extra: &b.extra}
}

// StaticIn returns the static report a fix carries (Engine.Observe sees
// them), or nil for a position.
func StaticIn(f *track.Fix) *StaticReport {
	r, _ := f.Static().(*StaticReport)
	return r
}

// Position offers a fix.
func (e *Engine) Position(f track.Fix) { e.reorder.Push(f, e.process) }

// Late is the number of fixes dropped for arriving after the lateness.
func (e *Engine) Late() int64 { return e.reorder.Late }

// Flush processes everything held and closes every open occurrence, run,
// window and segment, emitting what qualifies: the end of the input.
func (e *Engine) Flush() {
	e.reorder.Flush(e.collector())
	e.processReleased()
	// Silences going on at the end of the data are not gaps: the ship
	// may simply have left the area. A checkpoint of an earlier build
	// reported gaps open (gapOpen, restored from its state): those have
	// a version in the caller's store, so they close here, at the end of
	// the data, with no end position.
	e.tracker.Each(func(_ int, mmsi uint32, v *vesselState) {
		if v.gapOpen {
			v.gapOpen = false
			ev := e.gapEvent(mmsi, v, e.now, 0, 0, false)
			ev.Status = StatusClosed
			ev.Details.Explanation = "the data ended before the vessel was heard again"
			e.emit(ev)
		}
	})
	e.tracker.Flush()
	e.closeAllPairs()
	if e.role == roleSeq {
		e.sendItem(Item{Kind: ItemFlush, Now: e.now})
	}
	e.closeIdentity(true)
}

// segment is a track segment with the detectors' state for it inline.
type segment = track.Segment[segState]

// ActiveSegments is the tracker's open segment count (memory).
func (e *Engine) ActiveSegments() int { return e.tracker.Active() }

// TrackedVessels is the number of MMSIs the engine holds state for.
func (e *Engine) TrackedVessels() int { return e.tracker.Tracked() }

// Evictions is the number of vessels forgotten to stay under
// Config.MaxVessels (0 unless the input had more MMSIs than that in
// play at once).
func (e *Engine) Evictions() int64 { return e.tracker.Evictions() }

func (e *Engine) vessel(k segKey) Vessel {
	v := Vessel{MMSI: k.mmsi, Segment: k.id}
	if s := e.known(k.mmsi); s != nil {
		v.IMO, v.Name = s.static.imo, s.static.name
	}
	return v
}

func (e *Engine) process(f track.Fix) {
	if r := StaticIn(&f); r != nil {
		if f.Time.After(e.now) {
			e.now = f.Time
		}
		e.StaticReport(*r)
		if e.role == roleSeq {
			it := Item{Kind: ItemStatic, Now: e.now, Fix: f, Adopt: e.adopt}
			e.adopt = nil
			if v := e.known(f.MMSI); v != nil {
				it.IMOParts = e.routesOf(f.MMSI, v)
			}
			e.sendItem(it)
			return
		}
		if e.Observe != nil && e.Part.OwnsMMSI(f.MMSI) {
			e.Observe(f, -1)
		}
		return
	}
	seg, vs, prev, res := e.tracker.Track(f)
	if res == track.Invalid || res == track.Stale {
		return
	}
	if f.Time.After(e.now) {
		e.now = f.Time
	}
	k := segKey{seg.MMSI, seg.ID}
	st := &seg.Data
	if res == track.Started {
		st.key = k
	}
	speed := f.SOG
	if !f.HasSOG() {
		speed = 0
		if !prev.Time.IsZero() {
			if h := f.Time.Sub(prev.Time).Hours(); h > 0 {
				speed = geo.Distance(prev.Lat, prev.Lon, f.Lat, f.Lon) / geo.NauticalMile / h
			}
		}
	}
	// Another partition's vessel: only what other owners' events read
	// (its segments, last position, reception counts and place in the
	// encounter grid) is kept.
	own := e.Part.OwnsMMSI(f.MMSI)
	// Gaps are per MMSI: silence of the MMSI, whichever segment speaks.
	if own && !vs.lastT.IsZero() && f.Time.Sub(vs.lastT) >= e.gapMin {
		e.gap(f.MMSI, vs, f)
	}
	vs.gapOpen = false
	vs.lastT, vs.lastLat, vs.lastLon, vs.lastSeg = f.Time, f.Lat, f.Lon, int32(seg.ID)
	switch {
	case e.role == roleSeq:
		// The vessel's detectors run on a worker, fed this.
		it := Item{Kind: ItemFix, Now: e.now, Fix: f, Segment: int32(k.id), Started: res == track.Started, Speed: speed,
			Sweep: !e.now.Before(e.sweepAt), IMOParts: e.routesOf(f.MMSI, vs), Gap: e.gapOut}
		e.gapOut = nil
		if res != track.Started {
			it.LastCell = areaCellOf(prev.Lat, prev.Lon)
		}
		if e.recParts > 0 {
			// The reception workers count it (the counts are theirs).
			it.Counts = e.countActivity(st, f)
		}
		e.sendItem(it)
	case own:
		e.vesselFix(st, seg, f, prev, res, speed)
	}
	if e.recParts == 0 {
		e.countActivity(st, f)
	}
	if !e.areas {
		e.encounter(st, f, speed, true)
	}
	e.sweep()
	if own && e.role == roleEngine && e.Observe != nil {
		e.Observe(f, k.id)
	}
}

// vesselFix runs the per-vessel detectors on a fix of segment seg (its
// previous fix there prev, as the tracker said with res): an engine's
// own, or a vessel worker's on what the sequencer sent.
func (e *Engine) vesselFix(st *segState, seg *segment, f, prev track.Fix, res track.Result, speed float64) {
	if res == track.Extended && f.Time.Sub(prev.Time) >= e.gapMin && st.runs != nil {
		// A gap ends any run: nobody knows what the ship did meanwhile.
		e.endSlow(st)
		e.endStop(st)
	}
	if st.jump != nil || res == track.Started || len(e.tracker.Open(seg.MMSI)) > 1 {
		e.jumps(st, seg, f, res == track.Started)
	}
	e.spoof(st, f, prev)
	e.loiter(st, f, speed)
	e.portCall(st, f, speed)
	e.zoneCheck(st, f, res == track.Started)
}

func (e *Engine) segmentClosed(s *segment) {
	st := &s.Data
	if st.runs != nil {
		e.endSlow(st)
		e.endStop(st)
		e.endLand(st)
		e.endFrozen(st)
	}
	e.jumpSegmentClosed(s)
	e.removeFromCell(st)
	if e.role == roleSeq {
		it := Item{Kind: ItemClosed, Now: e.now, Fix: track.Fix{MMSI: s.MMSI}, Segment: int32(s.ID), LastCell: areaCellOf(s.Last.Lat, s.Last.Lon)}
		if v := e.known(s.MMSI); v != nil {
			it.IMOParts = e.routesOf(s.MMSI, v)
		}
		e.sendItem(it)
	}
}

// vesselEvicted closes what an evicted vessel has open: its encounter
// pairs and its identity occurrences (its segments were closed first).
func (e *Engine) vesselEvicted(mmsi uint32, v *vesselState) {
	e.closePairsOf(mmsi)
	if e.role == roleSeq {
		e.sendItem(Item{Kind: ItemEvicted, Now: e.now, Fix: track.Fix{MMSI: mmsi}, IMOParts: e.routesOf(mmsi, v)})
		if v.imoParts != 0 {
			// Its last use of an IMO was at this clock or before.
			e.evictedRoutes[mmsi] = evictedRoute{parts: v.imoParts, at: ceilHour(e.now)}
		}
	}
	if s := v.ident; s != nil && len(s.pending) > 0 {
		e.closeChanges(mmsi, v, true)
	}
	delete(e.identPending, mmsi)
	// Its IMO's state goes with it when it was the only user and nothing
	// is open on it: the IMOs in memory follow the vessels.
	if x := v.static.imo; x != 0 {
		if st := e.imos[x]; st != nil && len(st.users) == 1 && st.users[0].mmsi == mmsi {
			if _, busy := e.imoPending[x]; !busy {
				delete(e.imos, x)
			}
		}
	}
	if e.Forget != nil {
		e.Forget(mmsi)
	}
}

// sweep, once per event-time hour, closes encounter windows whose ships
// stopped reporting together and identity occurrences that were not
// resumed, and forgets old reception counts.
func (e *Engine) sweep() {
	if e.now.Before(e.sweepAt) {
		return
	}
	e.sweepAt = e.now.Add(time.Hour)
	e.sweepPairs()
	e.pruneActivity()
	if e.role == roleSeq {
		// The vessel workers sweep at the same point of the sequence.
		e.sendItem(Item{Kind: ItemSweepIdentity, Now: e.now})
		e.sendItem(Item{Kind: ItemSweepJumps, Now: e.now})
	}
	e.closeIdentity(false)
	e.sweepJumps()
}

// --- gaps ---

type activityKey struct {
	lat, lon int16
	hour     int64
}

// countActivity counts each ship once per 1-degree cell and hour: the gap
// detector only asks whether other ships were heard, and a map write per
// fix would cost more than all the detectors.
// It says whether it counted the fix (a sequencer whose reception
// workers count, NewAreaSequencer, only says).
func (e *Engine) countActivity(st *segState, f track.Fix) bool {
	k := activityOf(f)
	if st.activity == k && st.counted {
		return false
	}
	st.activity, st.counted = k, true
	if e.recParts == 0 {
		e.activity[k]++
	}
	return true
}

func activityOf(f track.Fix) activityKey {
	return activityKey{int16(math.Floor(f.Lat)), wrapDegree(int16(math.Floor(f.Lon))), f.Time.Unix() / 3600}
}

// wrapDegree brings a 1-degree cell's longitude into -180..179: the
// cells east of 179 are -180's (a neighbour across the antimeridian, or
// longitude 180 itself).
func wrapDegree(lon int16) int16 {
	switch {
	case lon >= 180:
		return lon - 360
	case lon < -180:
		return lon + 360
	}
	return lon
}

// pruneActivity forgets reception counts older than 14 days (the hourly
// sweep).
func (e *Engine) pruneActivity() {
	horizon := e.now.Add(-14*24*time.Hour).Unix() / 3600
	for k := range e.activity {
		if k.hour < horizon {
			delete(e.activity, k)
		}
	}
}

// receptionDuring counts other ships (once per ship, cell and hour) in
// the 1-degree cells around p during whole hours strictly inside (a, b),
// and how many of those hours had any: evidence that a receiver covered
// the area while this ship was silent.
func (e *Engine) receptionDuring(lat, lon float64, a, b track.Time) (n, covered, hours int64, known bool) {
	h0, h1 := a.Unix()/3600+1, b.Unix()/3600-1
	if h1 < h0 {
		return 0, 0, 0, true
	}
	if a.Before(e.now.Add(-13 * 24 * time.Hour)) {
		return 0, 0, 0, false // counts that old were forgotten
	}
	la, lo := int16(math.Floor(lat)), int16(math.Floor(lon))
	for h := h0; h <= h1; h++ {
		var m int64
		for dy := int16(-1); dy <= 1; dy++ {
			for dx := int16(-1); dx <= 1; dx++ {
				m += int64(e.activity[activityKey{la + dy, wrapDegree(lo + dx), h}])
			}
		}
		n += m
		if m > 0 {
			covered++
		}
	}
	return n, covered, h1 - h0 + 1, true
}

// gap reports the MMSI's silence from its last fix to f. A ship silent at
// its berth or anchorage, and found there again, is not hiding: ports
// throttle or switch off AIS. Such gaps are dropped.
func (e *Engine) gap(mmsi uint32, vs *vesselState, f track.Fix) {
	if e.ports != nil {
		r := e.cfg.PortCallMaxKM * 1000
		if _, _, na := e.ports.Nearest(vs.lastLat, vs.lastLon, r); na {
			if _, _, nb := e.ports.Nearest(f.Lat, f.Lon, r); nb {
				return
			}
		}
	}
	if e.recParts > 0 {
		// A reception worker reports it, with its counts.
		e.gapOut = &GapStart{LastT: vs.lastT, LastLat: vs.lastLat, LastLon: vs.lastLon, LastSeg: vs.lastSeg, IMO: vs.static.imo, Name: vs.static.name}
		return
	}
	e.emit(e.gapEvent(mmsi, vs, f.Time, f.Lat, f.Lon, true))
}

// gapEvent describes the silence of the MMSI from its last fix until end;
// ended says the ship was heard again at (lat, lon), otherwise the gap is
// still open.
func (e *Engine) gapEvent(mmsi uint32, vs *vesselState, end track.Time, lat, lon float64, ended bool) Event {
	h := end.Sub(vs.lastT).Hours()
	d := Details{Hours: round2(h), StartPosition: LatLon{round5(vs.lastLat), round5(vs.lastLon)}}
	if ended {
		dist := geo.Distance(vs.lastLat, vs.lastLon, lat, lon)
		d.EndPosition = LatLon{round5(lat), round5(lon)}
		d.DistanceKM = round2(dist / 1000)
		d.ImpliedSpeedKn = round2(dist / geo.NauticalMile / h)
	}
	shoreNM := -1.0
	if e.land != nil {
		shoreNM = e.land.DistanceToShore(vs.lastLat, vs.lastLon, 500*geo.NauticalMile) / geo.NauticalMile
		d.StartShoreNM = round2(shoreNM)
	}
	// Reception continued when other ships were heard nearby in at least
	// half the gap's whole hours (a gap shorter than two hours has none
	// to judge by, and counts as covered).
	if n, covered, all, known := e.receptionDuring(vs.lastLat, vs.lastLon, vs.lastT, end); known {
		cont := 2*covered >= all
		d.ReceptionContinued, d.OtherShipHoursNearby = &cont, &n
	}
	// Deliberate needs the receivers to have heard other ships nearby
	// meanwhile: otherwise the silence may be the coverage's.
	d.LikelyDeliberate = h >= e.cfg.GapDeliberateHours && shoreNM > e.cfg.GapDeliberateShoreNM &&
		d.ReceptionContinued != nil && *d.ReceptionContinued
	// The zone it went dark or reappeared in, DPRK waters first.
	if z := e.watchZone(vs.lastLat, vs.lastLon); z != nil {
		d.Zone, d.ZoneName, d.ZoneKind = z.ID, z.Name, z.Kind
	} else if ended {
		if z := e.watchZone(lat, lon); z != nil {
			d.Zone, d.ZoneName, d.ZoneKind = z.ID, z.Name, z.Kind
		}
	}
	ev := Event{Kind: KindGap, Vessels: []Vessel{e.vessel(segKey{mmsi, int(vs.lastSeg)})}, Start: vs.lastT.Std(), End: end.Std(),
		Lat: vs.lastLat, Lon: vs.lastLon, Details: d}
	if !ended {
		ev.Status = StatusOpen
	}
	return ev
}

// watchZone returns the built-in zone of concern containing the point:
// DPRK waters before an STS area; nil when none.
func (e *Engine) watchZone(lat, lon float64) *geo.Zone {
	var best *geo.Zone
	for i, z := range e.zones {
		if z.Kind != "dprk_waters" && z.Kind != "sts_area" {
			continue
		}
		var in bool
		if i < 64 && e.zoneIndex != nil {
			in = e.zoneIndex.Mask(lat, lon)&(1<<uint(i)) != 0
		} else {
			in = z.Contains(lat, lon)
		}
		if in && (best == nil || (z.Kind == "dprk_waters" && best.Kind != "dprk_waters")) {
			best = z
		}
	}
	return best
}

// --- loitering ---

// A loitering run is a segment under LoiterMaxKn; a faster spell shorter
// than RunBreakMinutes does not end it (its fixes do not count). It
// qualifies when it has lasted LoiterMinHours with its mean position far
// from shore and not at an anchorage: checked when it reaches that age
// and every hour after until it qualifies, and at its end. A run that
// qualified once is reported however its mean moves after.
func (e *Engine) loiter(st *segState, f track.Fix, speed float64) {
	if speed < e.cfg.LoiterMaxKn {
		r := st.run()
		if !st.slow {
			st.slow = true
			r.slowStart, r.slowN, r.slowLat, r.slowLon, r.slowSpeeds, r.slowChecked, r.slowQualified = ptOf(f), 0, 0, 0, 0, 0, false
		}
		r.slowFastSince = 0
		r.slowLast = ptOf(f)
		r.slowN++
		r.slowLat += f.Lat
		r.slowLon += f.Lon
		r.slowSpeeds += speed
		if !r.slowQualified && f.Time.Sub(r.slowStart.Time).Hours() >= e.cfg.LoiterMinHours && f.Time.Sub(r.slowChecked) >= time.Hour {
			r.slowChecked = f.Time
			_, ok := e.loiterPlace(r)
			r.slowQualified = ok
		}
		return
	}
	if !st.slow {
		return
	}
	r := st.runs
	if r.slowFastSince == 0 {
		r.slowFastSince = f.Time
	}
	if f.Time.Sub(r.slowFastSince) >= e.runBreak {
		e.endSlow(st)
	}
}

// loiterPlace is the run's mean position's shore distance, and whether it
// is far enough from shore and from any port or anchorage.
func (e *Engine) loiterPlace(r *runState) (shoreNM float64, ok bool) {
	lat, lon := r.slowLat/float64(r.slowN), r.slowLon/float64(r.slowN)
	if e.ports != nil {
		if _, _, near := e.ports.Nearest(lat, lon, e.cfg.PortCallMaxKM*1000); near {
			return 0, false // waiting at an anchorage is not loitering
		}
	}
	if e.land != nil {
		shoreNM = e.land.DistanceToShore(lat, lon, 500*geo.NauticalMile) / geo.NauticalMile
		if shoreNM < e.cfg.LoiterMinShoreNM {
			return shoreNM, false
		}
	}
	return shoreNM, true
}

func (e *Engine) endSlow(st *segState) {
	if !st.slow {
		return
	}
	st.slow = false
	r := st.runs
	if ev, ok := e.loiterEvent(st, r, false); ok {
		e.emit(ev)
	}
}

func (e *Engine) loiterEvent(st *segState, r *runState, open bool) (Event, bool) {
	h := r.slowLast.Time.Sub(r.slowStart.Time).Hours()
	if h < e.cfg.LoiterMinHours {
		return Event{}, false
	}
	shore, ok := e.loiterPlace(r)
	if !ok && !r.slowQualified {
		return Event{}, false
	}
	lat, lon := r.slowLat/float64(r.slowN), r.slowLon/float64(r.slowN)
	d := Details{Hours: round2(h), Fixes: int(r.slowN), MeanSpeedKn: round2(r.slowSpeeds / float64(r.slowN))}
	if e.land != nil {
		d.ShoreNM = round2(shore)
	}
	if z := e.watchZone(lat, lon); z != nil {
		d.Zone, d.ZoneName, d.ZoneKind = z.ID, z.Name, z.Kind
	}
	ev := Event{Kind: KindLoitering, Vessels: []Vessel{e.vessel(st.key)}, Start: r.slowStart.Time.Std(), End: r.slowLast.Time.Std(), Lat: round5(lat), Lon: round5(lon), Details: d}
	if open {
		ev.Status = StatusOpen
	}
	return ev, true
}

// --- port calls ---

// A port call is a run under PortCallMaxKn within PortCallMaxKM of one
// port or anchorage; a spell faster or farther shorter than
// RunBreakMinutes does not end it.
func (e *Engine) portCall(st *segState, f track.Fix, speed float64) {
	if e.ports == nil {
		return
	}
	if speed < e.cfg.PortCallMaxKn {
		r := st.run()
		if st.stopped && geo.Distance(f.Lat, f.Lon, r.stopPort.Lat, r.stopPort.Lon) <= e.cfg.PortCallMaxKM*1000 {
			r.stopLast = ptOf(f)
			r.stopFastSince = 0
			return
		}
		if p, d, ok := e.ports.Nearest(f.Lat, f.Lon, e.cfg.PortCallMaxKM*1000); ok {
			if st.stopped && p.Name == r.stopPort.Name && p.Lat == r.stopPort.Lat && p.Lon == r.stopPort.Lon {
				r.stopLast, r.stopFastSince = ptOf(f), 0
				return
			}
			e.endStop(st)
			st.stopped, r.stopStart, r.stopLast, r.stopPort, r.stopPortDist, r.stopFastSince = true, ptOf(f), ptOf(f), p, d, 0
			return
		}
	}
	if !st.stopped {
		return
	}
	r := st.runs
	if r.stopFastSince == 0 {
		r.stopFastSince = f.Time
	}
	if f.Time.Sub(r.stopFastSince) >= e.runBreak {
		e.endStop(st)
	}
}

func (e *Engine) endStop(st *segState) {
	if !st.stopped {
		return
	}
	st.stopped = false
	r := st.runs
	if ev, ok := e.portCallEvent(st, r, false); ok {
		e.notePortCall(st.key.mmsi, r.stopLast.Time)
		e.emit(ev)
	}
}

func (e *Engine) portCallEvent(st *segState, r *runState, open bool) (Event, bool) {
	h := r.stopLast.Time.Sub(r.stopStart.Time).Hours()
	if h < e.cfg.PortCallMinHours {
		return Event{}, false
	}
	p := r.stopPort
	d := Details{Port: p.Name, Country: p.Country, PortSource: p.Source, Hours: round2(h), DistanceKM: round2(r.stopPortDist / 1000), DPRKPort: p.DPRK, LOCODE: p.LOCODE}
	ev := Event{Kind: KindPortCall, Vessels: []Vessel{e.vessel(st.key)}, Start: r.stopStart.Time.Std(), End: r.stopLast.Time.Std(), Lat: round5(r.stopStart.Lat), Lon: round5(r.stopStart.Lon), Details: d}
	if open {
		ev.Status = StatusOpen
	}
	return ev, true
}

// --- zones ---

// zoneState is a segment's zone bookkeeping beyond the confirmed mask:
// when it entered each zone it is in, and a crossing not yet confirmed.
type zoneState struct {
	since []track.Time // per zone: entry time while inside (confirmed)
	// a pending crossing per zone: the first fix on the other side
	pend    []track.Fix
	pending int // crossings pending
	// inside beyond the first 64 zones (the mask covers those)
	in []bool
}

func (e *Engine) zoneStateOf(st *segState) *zoneState {
	if st.zones == nil {
		n := len(e.zones)
		st.zones = &zoneState{since: make([]track.Time, n), pend: make([]track.Fix, n), in: make([]bool, n)}
	}
	return st.zones
}

// zoneCross records a confirmed crossing of zone i at fix cross (into
// the zone when in) and emits its event.
func (e *Engine) zoneCross(st *segState, zs *zoneState, i int, z *geo.Zone, cross track.Fix, in, firstHeard bool) {
	zs.in[i] = in
	if i < 64 {
		if in {
			st.inMask |= 1 << uint(i)
		} else {
			st.inMask &^= 1 << uint(i)
		}
	}
	d := Details{Zone: z.ID, ZoneName: z.Name, ZoneKind: z.Kind, FirstHeardInside: firstHeard}
	if in {
		zs.since[i] = cross.Time
		e.emit(Event{Kind: KindZoneEntry, Vessels: []Vessel{e.vessel(st.key)}, Start: cross.Time.Std(), End: cross.Time.Std(), Lat: cross.Lat, Lon: cross.Lon, Details: d})
		return
	}
	since := zs.since[i]
	zs.since[i] = 0
	d.HoursInside = round2(cross.Time.Sub(since).Hours())
	e.emit(Event{Kind: KindZoneExit, Vessels: []Vessel{e.vessel(st.key)}, Start: since.Std(), End: cross.Time.Std(), Lat: cross.Lat, Lon: cross.Lon, Details: d})
}

// zoneCheck finds zone entries and exits with hysteresis: a fix on the
// other side of a zone's boundary starts a crossing, confirmed by a later
// fix still on that side that is ZoneBufferKM or more past the boundary
// or ZoneDwellMinutes after the crossing began; a fix back on the first
// side before that cancels it. The entry or exit is placed at the crossing's
// first fix. A ship following a boundary, in and out every few minutes,
// crosses nothing. A segment's first fix inside a zone is taken as
// inside at once, with an entry marked first_heard_inside (the crossing
// was not seen: a feed began, or a ship reappeared after its track had
// expired), so the start of every data set does not read as ships
// entering.
func (e *Engine) zoneCheck(st *segState, f track.Fix, started bool) {
	if len(e.zones) == 0 {
		return
	}
	var mask uint64
	if e.zoneIndex != nil {
		// The first 64 zones in one lookup; nothing to do unless the
		// segment is on the other side of one, or there are more zones.
		mask = e.zoneIndex.Mask(f.Lat, f.Lon)
		if mask == st.inMask && len(e.zones) <= 64 && (st.zones == nil || st.zones.pending == 0) {
			return
		}
	}
	zs := e.zoneStateOf(st)
	for i, z := range e.zones {
		var in bool
		if i < 64 && e.zoneIndex != nil {
			in = mask&(1<<uint(i)) != 0
		} else {
			in = z.Contains(f.Lat, f.Lon)
		}
		was := zs.in[i]
		p := &zs.pend[i]
		if started && in && !was {
			e.zoneCross(st, zs, i, z, f, true, true)
			continue
		}
		if in == was {
			if !p.Time.IsZero() {
				*p = track.Fix{} // back on the confirmed side
				zs.pending--
			}
			continue
		}
		if p.Time.IsZero() {
			*p = f
			zs.pending++
			continue // one fix confirms nothing: it may be an outlier
		}
		if f.Time.Sub(p.Time) < e.zoneDwell && e.distanceToBoundary(z, f.Lat, f.Lon) < e.cfg.ZoneBufferKM*1000 {
			continue // not yet confirmed
		}
		cross := *p
		*p = track.Fix{}
		zs.pending--
		e.zoneCross(st, zs, i, z, cross, in, false)
	}
	if zs.pending == 0 && st.inMask == 0 && len(e.zones) <= 64 {
		st.zones = nil // outside every zone with nothing pending: free it
	}
}

// distanceToBoundary is the distance in metres from a point to the
// nearest edge of the zone's rings (an equirectangular approximation,
// good to a fraction of a percent at the scale of a boundary buffer).
func (e *Engine) distanceToBoundary(z *geo.Zone, lat, lon float64) float64 {
	kx := math.Cos(lat*math.Pi/180) * 111320.0
	const ky = 110574.0
	best := math.Inf(1)
	for _, ring := range z.Rings() {
		for i := 1; i < len(ring); i++ {
			ax, ay := (ring[i-1].Lon-lon)*kx, (ring[i-1].Lat-lat)*ky
			bx, by := (ring[i].Lon-lon)*kx, (ring[i].Lat-lat)*ky
			dx, dy := bx-ax, by-ay
			t := 0.0
			if l := dx*dx + dy*dy; l > 0 {
				t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
			}
			px, py := ax+t*dx, ay+t*dy
			if d := px*px + py*py; d < best {
				best = d
			}
		}
	}
	return math.Sqrt(best)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
func round5(f float64) float64 { return math.Round(f*1e5) / 1e5 }

func sortPairs(k []pairKey) {
	sort.Slice(k, func(i, j int) bool { return k[i].less(k[j]) })
}
