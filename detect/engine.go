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
// for concurrent use.
type Engine struct {
	cfg     Config
	land    *geo.Land
	ports   *geo.Ports
	zones   []*geo.Zone
	emit    func(Event)
	tracker *track.Tracker[segState]
	reorder *track.Reorder
	// per-MMSI state, indexed by the tracker's dense MMSI index
	mmsis []mmsiInfo
	// encounter state
	cells     map[cellKey][]*segState
	zoneIndex *geo.ZoneIndex // nil: no zones, or test each zone
	// released gathers the fixes the reorder buffer releases in a batch
	// (collect appends to it), so processAll can look ahead.
	released []track.Fix
	collect  func(track.Fix)
	// cellPort caches each encounter cell's port proximity (awayFromPort).
	cellPort map[cellKey]uint8
	pairs    map[pairKey]*pairState
	// reception activity: 1-degree cell and hour -> fixes
	activity map[activityKey]int32
	// identity state per IMO
	imoSeen map[uint32]imoUser
	// Designated, when set, says whether an IMO or MMSI belongs to a
	// designated (sanctioned) vessel, which listing, and the flag the
	// lists record for it (ISO alpha-2, "" when none).
	Designated func(imo, mmsi uint32) (listing, listedFlag string, ok bool)
	// Observe, when set, sees every fix the detectors use, in event-time
	// order, after the detectors ran on it: positions with the track
	// segment they joined and static reports (StaticIn gives the report;
	// segment -1). Ingest stores what it sees.
	Observe func(f track.Fix, segment int)
	// StopWhenLate makes FeedAIS and FeedAISConcurrent return
	// ErrOutOfOrder at the first fix later than the reorder window, for
	// callers that then read the input again sorted whole.
	StopWhenLate bool
	now          track.Time
	sweepAt      track.Time
}

type segKey struct {
	mmsi uint32
	id   int
}

type staticInfo struct {
	imo  uint32
	name string
}

// mmsiInfo is what the engine keeps per MMSI: its last IMO and name, and
// its identity state (nil until its first static report).
type mmsiInfo struct {
	static staticInfo
	ident  *staticState
}

// info returns the MMSI's state, through the tracker's dense index (a
// slice, not a map: one of these is read per static report).
func (e *Engine) info(mmsi uint32) *mmsiInfo {
	i := e.tracker.Index(mmsi)
	for i >= len(e.mmsis) {
		e.mmsis = append(e.mmsis, mmsiInfo{})
	}
	return &e.mmsis[i]
}

type segState struct {
	// Hot fields first: every fix reads or writes these, and with ten
	// thousand ships' state out of cache each cache line of this struct a
	// fix touches is a miss. The runs' fixes (cold unless the ship is
	// slow, stopped or frozen) come last.
	jump      *jumpInfo
	entry     cellEntry // this segment's latest position in the encounter grid
	inZone    []track.Time
	inMask    uint64 // bit i: inside zone i (i < 64)
	speed     float64
	lastAtSea track.Time
	frozen    int
	key       segKey
	cell      cellKey
	activity  activityKey
	inCell    bool
	slow      bool
	stopped   bool
	counted   bool
	spoofed   bool
	onLand    bool
	// loitering run
	slowN                        int
	slowLat, slowLon, slowSpeeds float64
	slowStart, slowLast          track.Fix
	// port-call run
	stopPortDist        float64
	stopStart, stopLast track.Fix
	stopPort            geo.Port
	// spoofing
	frozenStart track.Fix
}

// NewEngine builds an engine. land, ports and zones may be nil, which
// disables what needs them (shore distances, port exclusions and port
// calls, zone events).
func NewEngine(cfg Config, land *geo.Land, ports *geo.Ports, zones []*geo.Zone, emit func(Event)) *Engine {
	// Every event names the flag each vessel's MID implies.
	withFlags := func(ev Event) {
		for i := range ev.Vessels {
			if ev.Vessels[i].MIDFlag == "" {
				if f, ok := identity.MMSI(ev.Vessels[i].MMSI).Flag(); ok {
					ev.Vessels[i].MIDFlag = string(f)
				}
			}
		}
		emit(ev)
	}
	e := &Engine{cfg: cfg, land: land, ports: ports, zones: zones, emit: withFlags,
		cells: map[cellKey][]*segState{}, cellPort: map[cellKey]uint8{}, pairs: map[pairKey]*pairState{}, activity: map[activityKey]int32{},
		imoSeen: map[uint32]imoUser{}}
	e.zoneIndex = geo.NewZoneIndex(zones)
	e.tracker = track.NewTracker[segState](track.Config{MaxSpeedKn: cfg.MaxTrackSpeedKn})
	e.tracker.Closed = e.segmentClosed
	e.reorder = track.NewReorder(time.Duration(cfg.ReorderLatenessMinutes * float64(time.Minute)))
	return e
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

// Flush processes everything held and closes every open run, window and
// segment, emitting what qualifies.
func (e *Engine) Flush() {
	e.reorder.Flush(e.collector())
	e.processReleased()
	e.tracker.Flush()
	keys := make([]pairKey, 0, len(e.pairs))
	for k := range e.pairs {
		keys = append(keys, k)
	}
	sortPairs(keys)
	for _, k := range keys {
		e.closePair(k, e.pairs[k], true)
	}
}

// segment is a track segment with the detectors' state for it inline.
type segment = track.Segment[segState]

// ActiveSegments is the tracker's open segment count (memory).
func (e *Engine) ActiveSegments() int { return e.tracker.Active() }

func (e *Engine) vessel(k segKey) Vessel {
	s := e.info(k.mmsi).static
	return Vessel{MMSI: k.mmsi, Segment: k.id, IMO: s.imo, Name: s.name}
}

func (e *Engine) process(f track.Fix) {
	if r := StaticIn(&f); r != nil {
		if f.Time.After(e.now) {
			e.now = f.Time
		}
		e.StaticReport(*r)
		if e.Observe != nil {
			e.Observe(f, -1)
		}
		return
	}
	seg, prev, res := e.tracker.Add(f)
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
	if res == track.Extended && f.Time.Sub(prev.Time).Hours() >= e.cfg.GapMinHours {
		e.gap(k, prev, f)
		// A gap ends any run: nobody knows what the ship did meanwhile.
		e.endSlow(st)
		e.endStop(st)
	}
	if res == track.Started {
		e.twoAtOnce(st, seg, f)
	} else {
		e.jumpProgress(st, seg)
	}
	e.countActivity(st, f)
	e.spoof(st, f, prev)
	e.loiter(st, f, speed)
	e.portCall(st, f, speed)
	e.zoneCheck(st, f)
	st.speed = speed
	e.encounter(st, f, speed)
	e.sweep()
	if e.Observe != nil {
		e.Observe(f, k.id)
	}
}

func (e *Engine) segmentClosed(s *segment) {
	st := &s.Data
	e.endSlow(st)
	e.endStop(st)
	e.jumpClosed(st, s)
	e.removeFromCell(st)
}

// sweep, once per event-time hour, closes encounter windows whose ships
// stopped reporting together and forgets old reception counts.
func (e *Engine) sweep() {
	if e.now.Before(e.sweepAt) {
		return
	}
	e.sweepAt = e.now.Add(time.Hour)
	brk := time.Duration(e.cfg.EncounterBreakMinutes * float64(time.Minute))
	merge := time.Duration(e.cfg.EncounterMergeHours * float64(time.Hour))
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
	horizon := e.now.Add(-14*24*time.Hour).Unix() / 3600
	for k := range e.activity {
		if k.hour < horizon {
			delete(e.activity, k)
		}
	}
}

// --- gaps ---

type activityKey struct {
	lat, lon int16
	hour     int64
}

// countActivity counts each ship once per 1-degree cell and hour: the gap
// detector only asks whether other ships were heard, and a map write per
// fix would cost more than all the detectors.
func (e *Engine) countActivity(st *segState, f track.Fix) {
	k := activityKey{int16(math.Floor(f.Lat)), int16(math.Floor(f.Lon)), f.Time.Unix() / 3600}
	if st.activity == k && st.counted {
		return
	}
	st.activity, st.counted = k, true
	e.activity[k]++
}

// receptionDuring counts other ships (once per ship, cell and hour) in the 1-degree cells around
// p during whole hours strictly inside (a, b): evidence that a receiver
// covered the area while this ship was silent.
func (e *Engine) receptionDuring(p track.Fix, a, b track.Time) (int64, bool) {
	h0, h1 := a.Unix()/3600+1, b.Unix()/3600-1
	if h1 < h0 {
		return 0, true
	}
	if a.Before(e.now.Add(-13 * 24 * time.Hour)) {
		return 0, false // counts that old were forgotten
	}
	var n int64
	la, lo := int16(math.Floor(p.Lat)), int16(math.Floor(p.Lon))
	for h := h0; h <= h1; h++ {
		for dy := int16(-1); dy <= 1; dy++ {
			for dx := int16(-1); dx <= 1; dx++ {
				n += int64(e.activity[activityKey{la + dy, lo + dx, h}])
			}
		}
	}
	return n, true
}

func (e *Engine) gap(k segKey, a, b track.Fix) {
	// A ship silent at its berth or anchorage, and found there again, is
	// not hiding: ports throttle or switch off AIS. Such gaps are dropped.
	if e.ports != nil {
		r := e.cfg.PortCallMaxKM * 1000
		if _, _, na := e.ports.Nearest(a.Lat, a.Lon, r); na {
			if _, _, nb := e.ports.Nearest(b.Lat, b.Lon, r); nb {
				return
			}
		}
	}
	hours := b.Time.Sub(a.Time).Hours()
	dist := geo.Distance(a.Lat, a.Lon, b.Lat, b.Lon)
	d := map[string]any{
		"hours":            round2(hours),
		"start_position":   []float64{round5(a.Lat), round5(a.Lon)},
		"end_position":     []float64{round5(b.Lat), round5(b.Lon)},
		"distance_km":      round2(dist / 1000),
		"implied_speed_kn": round2(dist / geo.NauticalMile / hours),
	}
	shoreNM := -1.0
	if e.land != nil {
		shoreNM = e.land.DistanceToShore(a.Lat, a.Lon, 500*geo.NauticalMile) / geo.NauticalMile
		d["start_shore_nm"] = round2(shoreNM)
	}
	if n, known := e.receptionDuring(a, a.Time, b.Time); known {
		d["reception_continued"] = n > 0
		d["other_ship_hours_nearby"] = n
	}
	d["likely_deliberate"] = hours >= e.cfg.GapDeliberateHours && shoreNM > e.cfg.GapDeliberateShoreNM
	e.emit(Event{Kind: KindGap, Vessels: []Vessel{e.vessel(k)}, Start: a.Time.Std(), End: b.Time.Std(), Lat: a.Lat, Lon: a.Lon, Details: d})
}

// --- loitering ---

func (e *Engine) loiter(st *segState, f track.Fix, speed float64) {
	if speed < e.cfg.LoiterMaxKn {
		if !st.slow {
			st.slow, st.slowStart, st.slowN, st.slowLat, st.slowLon, st.slowSpeeds = true, f, 0, 0, 0, 0
		}
		st.slowLast = f
		st.slowN++
		st.slowLat += f.Lat
		st.slowLon += f.Lon
		st.slowSpeeds += speed
		return
	}
	e.endSlow(st)
}

func (e *Engine) endSlow(st *segState) {
	if !st.slow {
		return
	}
	st.slow = false
	hours := st.slowLast.Time.Sub(st.slowStart.Time).Hours()
	if hours < e.cfg.LoiterMinHours {
		return
	}
	lat, lon := st.slowLat/float64(st.slowN), st.slowLon/float64(st.slowN)
	d := map[string]any{"hours": round2(hours), "fixes": st.slowN, "mean_speed_kn": round2(st.slowSpeeds / float64(st.slowN))}
	if e.land != nil {
		shore := e.land.DistanceToShore(lat, lon, 500*geo.NauticalMile) / geo.NauticalMile
		if shore < e.cfg.LoiterMinShoreNM {
			return
		}
		d["shore_nm"] = round2(shore)
	}
	if e.ports != nil {
		if _, _, near := e.ports.Nearest(lat, lon, e.cfg.PortCallMaxKM*1000); near {
			return // waiting at an anchorage is not loitering
		}
	}
	e.emit(Event{Kind: KindLoitering, Vessels: []Vessel{e.vessel(st.key)}, Start: st.slowStart.Time.Std(), End: st.slowLast.Time.Std(), Lat: round5(lat), Lon: round5(lon), Details: d})
}

// --- port calls ---

func (e *Engine) portCall(st *segState, f track.Fix, speed float64) {
	if e.ports == nil {
		return
	}
	if speed < e.cfg.PortCallMaxKn {
		if st.stopped && geo.Distance(f.Lat, f.Lon, st.stopPort.Lat, st.stopPort.Lon) <= e.cfg.PortCallMaxKM*1000 {
			st.stopLast = f
			return
		}
		e.endStop(st)
		if p, d, ok := e.ports.Nearest(f.Lat, f.Lon, e.cfg.PortCallMaxKM*1000); ok {
			st.stopped, st.stopStart, st.stopLast, st.stopPort, st.stopPortDist = true, f, f, p, d
		}
		return
	}
	e.endStop(st)
}

func (e *Engine) endStop(st *segState) {
	if !st.stopped {
		return
	}
	st.stopped = false
	hours := st.stopLast.Time.Sub(st.stopStart.Time).Hours()
	if hours < e.cfg.PortCallMinHours {
		return
	}
	p := st.stopPort
	e.notePortCall(st.key.mmsi, st.stopLast.Time)
	d := map[string]any{"port": p.Name, "country": p.Country, "port_source": p.Source, "hours": round2(hours), "distance_km": round2(st.stopPortDist / 1000), "dprk_port": p.DPRK}
	if p.LOCODE != "" {
		d["locode"] = p.LOCODE
	}
	e.emit(Event{Kind: KindPortCall, Vessels: []Vessel{e.vessel(st.key)}, Start: st.stopStart.Time.Std(), End: st.stopLast.Time.Std(), Lat: round5(st.stopStart.Lat), Lon: round5(st.stopStart.Lon), Details: d})
}

// --- zones ---

func (e *Engine) zoneCheck(st *segState, f track.Fix) {
	var mask uint64
	if e.zoneIndex != nil {
		// The first 64 zones in one lookup; nothing to do unless the
		// segment entered or left one, or there are more zones.
		mask = e.zoneIndex.Mask(f.Lat, f.Lon)
		if mask == st.inMask && len(e.zones) <= 64 {
			return
		}
	}
	for i, z := range e.zones {
		var in bool
		if i < 64 && e.zoneIndex != nil {
			in = mask&(1<<uint(i)) != 0
		} else {
			in = z.Contains(f.Lat, f.Lon)
		}
		// Which zones the segment is in is a bit in segState (no second
		// cache line per fix); the entry times are read only on a change.
		was := false
		if i < 64 {
			was = st.inMask&(1<<uint(i)) != 0
		} else if st.inZone != nil {
			was = !st.inZone[i].IsZero()
		}
		switch {
		case in && !was:
			if st.inZone == nil {
				st.inZone = make([]track.Time, len(e.zones))
			}
			st.inZone[i] = f.Time
			if i < 64 {
				st.inMask |= 1 << uint(i)
			}
			e.emit(Event{Kind: KindZoneEntry, Vessels: []Vessel{e.vessel(st.key)}, Start: f.Time.Std(), End: f.Time.Std(), Lat: f.Lat, Lon: f.Lon,
				Details: map[string]any{"zone": z.ID, "zone_name": z.Name, "zone_kind": z.Kind}})
		case !in && was:
			since := st.inZone[i]
			st.inZone[i] = 0
			if i < 64 {
				st.inMask &^= 1 << uint(i)
			}
			e.emit(Event{Kind: KindZoneExit, Vessels: []Vessel{e.vessel(st.key)}, Start: since.Std(), End: f.Time.Std(), Lat: f.Lat, Lon: f.Lon,
				Details: map[string]any{"zone": z.ID, "zone_name": z.Name, "zone_kind": z.Kind, "hours_inside": round2(f.Time.Sub(since).Hours())}})
		}
	}
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
func round5(f float64) float64 { return math.Round(f*1e5) / 1e5 }

func sortPairs(k []pairKey) {
	sort.Slice(k, func(i, j int) bool { return k[i].less(k[j]) })
}
