package ingest

import (
	"math"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/track"
)

// ThinPolicy says which positions the store keeps. Every position goes
// through the detectors; the store keeps all the points where behaviour
// happens and a thinned track elsewhere:
//
//   - every point while the ship is slow (under SlowKn, or with no speed),
//     at most one per SlowEvery: encounters, loitering, port calls and
//     drifting all happen at low speed, so their tracks are kept whole at
//     the one-a-minute rate the detectors' thresholds are measured in;
//   - both ends of every silence of GapEvery or more (gaps, reception
//     loss), and both points of any move faster than JumpKn (spoofing,
//     shared MMSIs), and the first point of each track segment;
//   - a point whenever course changes by TurnDeg or speed by SpeedDeltaKn
//     since the last kept point (the shape of the track);
//   - otherwise one point per MovingEvery.
//
// The decision is made as each fix arrives, so memory does not grow with
// the input and a resumed ingest keeps exactly what a clean one does.
type ThinPolicy struct {
	SlowKn       float64
	SlowEvery    time.Duration
	MovingEvery  time.Duration
	GapEvery     time.Duration
	JumpKn       float64
	TurnDeg      float64
	SpeedDeltaKn float64
}

// DefaultThin is the documented default (docs/store.md).
var DefaultThin = ThinPolicy{
	SlowKn:       3,
	SlowEvery:    time.Minute,
	MovingEvery:  10 * time.Minute,
	GapEvery:     10 * time.Minute,
	JumpKn:       30,
	TurnDeg:      15,
	SpeedDeltaKn: 2,
}

// thinState is one MMSI's thinning state.
type thinState struct {
	kept     keptPoint // last kept
	prev     tpoint    // last seen
	prevKept bool
	any      bool
}

// tpoint is a point as ingest holds it between fixes: 48 bytes against a
// store.Point's 64 (its time.Time carries a location), for every vessel
// in play.
type tpoint struct {
	Time               track.Time
	Lat, Lon, SOG, COG float64
	Segment            int32
}

// keptPoint is what thinning needs of the last kept point.
type keptPoint struct {
	Time     track.Time
	SOG, COG float64
}

// point is the stored form.
func (q tpoint) point() store.Point {
	return store.Point{Time: q.Time.Std(), Lat: q.Lat, Lon: q.Lon, SOG: q.SOG, COG: q.COG, Segment: int(q.Segment)}
}

// decide reports whether p is kept and whether the previous point, not
// kept when it arrived, must be kept now (it ends a silence or starts a
// jump).
func (pol *ThinPolicy) decide(st *thinState, p tpoint) (keep, keepPrev bool) {
	if !st.any {
		return true, false
	}
	prev := st.prev
	dt := p.Time.Sub(prev.Time)
	if p.Segment != prev.Segment {
		keep = true
	}
	if dt >= pol.GapEvery {
		keep, keepPrev = true, true
	} else if h := dt.Hours(); h > 0 {
		// The trig-free upper bound settles nearly every fix; the
		// haversine only runs when the bound says the move might be fast.
		limit := pol.JumpKn * geo.NauticalMile * h
		if geo.DistanceBound(prev.Lat, prev.Lon, p.Lat, p.Lon) > limit && geo.Distance(prev.Lat, prev.Lon, p.Lat, p.Lon) > limit {
			keep, keepPrev = true, true
		}
	}
	sinceKept := p.Time.Sub(st.kept.Time)
	slow := math.IsNaN(p.SOG) || p.SOG < pol.SlowKn
	switch {
	case slow && sinceKept >= pol.SlowEvery:
		keep = true
	case sinceKept >= pol.MovingEvery:
		keep = true
	case turned(st.kept.COG, p.COG) >= pol.TurnDeg && sinceKept >= 30*time.Second:
		keep = true
	case !math.IsNaN(p.SOG) && !math.IsNaN(st.kept.SOG) && math.Abs(p.SOG-st.kept.SOG) >= pol.SpeedDeltaKn && sinceKept >= 30*time.Second:
		keep = true
	}
	return keep, keepPrev && !st.prevKept
}

func turned(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	d := math.Abs(a - b)
	if d > 180 {
		d = 360 - d
	}
	return d
}
