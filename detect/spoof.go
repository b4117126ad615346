package detect

import (
	"fmt"
	"math"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// jumpWindow is how recent an established track's last fix must be for a
// far new position of its MMSI to be a jump from it.
const jumpWindow = time.Hour

// jumpInfo is a jump episode: a segment (the far one) that began
// ConflictMinKM or more from an established segment of its MMSI (the
// origin) heard within jumpWindow, too far for the ship to have sailed
// (the tracker started a new segment). The episode counts both sides'
// fixes and how often the MMSI's fixes switched between them, and is
// judged when it ends:
//   - the two kept alternating (three switches or more) and the far side
//     has a track of its own (JumpConfirmFixes fixes): two ships on one
//     MMSI, identity_conflict one_mmsi_two_positions;
//   - the far side has a track of its own while the origin was silent:
//     position_spoofing far_jump (returned: the origin spoke again after);
//   - the far side is one or two fixes: a position outlier, an
//     inconsistency (a data error far more often than spoofing).
//
// It ends when the far side has been silent for IdentityResumeHours
// (while alternating: either side), or a side's segment closes.
type jumpInfo struct {
	originID          int
	origin, first     track.Fix // the origin's last fix before, the far side's first
	far               track.Fix // the far side's latest
	nearFixes         int
	farFixes          int
	switches          int
	farLast, nearLast track.Time
	lastFar           bool // the MMSI's latest fix was on the far side
}

func (j *jumpInfo) conflict(confirm int) bool { return j.switches >= 3 && j.farFixes >= confirm }

// jumps follows the MMSI's jump episodes for a fix on seg: it opens one
// when seg is new and far from an established segment, or when seg
// becomes established far from another established one (two ships that
// began together), and counts the fix on the side it falls.
func (e *Engine) jumps(st *segState, seg *segment, f track.Fix, started bool) {
	open := e.tracker.Open(seg.MMSI)
	if !shipMMSI(seg.MMSI) {
		if started && len(open) > 1 {
			if v := e.known(seg.MMSI); v != nil {
				e.sharedPlaceholder(seg.MMSI, v, f.Time, f.Lat, f.Lon)
			}
		}
		return
	}
	if started || (st.jump == nil && seg.Fixes == e.cfg.JumpConfirmFixes) {
		if st.jump == nil {
			for _, o := range open {
				if o == seg || o.Fixes < e.cfg.JumpConfirmFixes || f.Time.Sub(o.Last.Time) > jumpWindow {
					continue
				}
				if oj := o.Data.jump; oj != nil && oj.originID == seg.ID {
					continue // already the other side of an episode with seg
				}
				if geo.Distance(o.Last.Lat, o.Last.Lon, f.Lat, f.Lon) < e.cfg.ConflictMinKM*1000 {
					continue // near enough to be one ship with a jittery clock or GPS
				}
				st.jump = &jumpInfo{originID: o.ID, origin: o.Last, first: f, far: f, farFixes: seg.Fixes, switches: 1, farLast: f.Time, lastFar: true}
				e.jumping = append(e.jumping, seg)
				return
			}
		}
		if started {
			return
		}
	}
	if j := st.jump; j != nil {
		j.farFixes++
		j.far, j.farLast = f, f.Time
		if !j.lastFar {
			j.switches++
			j.lastFar = true
		}
	}
	for _, o := range open {
		if j := o.Data.jump; o != seg && j != nil && j.originID == seg.ID {
			j.nearFixes++
			j.nearLast = f.Time
			if j.lastFar {
				j.switches++
				j.lastFar = false
			}
		}
	}
}

// sweepJumps closes the episodes that ended (see jumpInfo).
func (e *Engine) sweepJumps() {
	kept := e.jumping[:0]
	for _, s := range e.jumping {
		j := s.Data.jump
		if j == nil {
			continue
		}
		end := e.now.Sub(j.farLast) > e.resume
		if j.conflict(e.cfg.JumpConfirmFixes) && !j.nearLast.IsZero() {
			end = end || e.now.Sub(j.nearLast) > e.resume
		}
		if end {
			e.closeJump(s)
			continue
		}
		kept = append(kept, s)
	}
	clear(e.jumping[len(kept):])
	e.jumping = kept
}

// jumpSegmentClosed ends the episodes of a closing segment, on either
// side.
func (e *Engine) jumpSegmentClosed(s *segment) {
	if len(e.jumping) == 0 {
		return
	}
	kept := e.jumping[:0]
	for _, o := range e.jumping {
		j := o.Data.jump
		if j != nil && (o == s || (o.MMSI == s.MMSI && j.originID == s.ID)) {
			e.closeJump(o)
			continue
		}
		kept = append(kept, o)
	}
	clear(e.jumping[len(kept):])
	e.jumping = kept
}

func (e *Engine) closeJump(s *segment) {
	j := s.Data.jump
	s.Data.jump = nil
	e.emit(e.jumpEvent(s, j, false))
}

func (e *Engine) jumpEvent(s *segment, j *jumpInfo, open bool) Event {
	d := geo.Distance(j.origin.Lat, j.origin.Lon, j.first.Lat, j.first.Lon)
	det := Details{DistanceKM: round2(d / 1000), Positions: []LatLon{{round5(j.origin.Lat), round5(j.origin.Lon)}, {round5(j.first.Lat), round5(j.first.Lon)}},
		ImpliedSpeedKn: round2(d / geo.NauticalMile / math.Max(j.first.Time.Sub(j.origin.Time).Hours(), 1.0/3600)),
		NearFixes:      j.nearFixes, FarFixes: j.farFixes, Hours: round2(j.farLast.Sub(j.first.Time).Hours())}
	ev := Event{Vessels: []Vessel{e.vessel(segKey{s.MMSI, j.originID}), e.vessel(segKey{s.MMSI, s.ID})},
		Start: j.first.Time.Std(), End: max(j.farLast, j.nearLast).Std(), Lat: j.first.Lat, Lon: j.first.Lon, Details: det}
	if e.land != nil && e.land.OnLand(j.first.Lat, j.first.Lon) {
		ev.Details.InlandKM = round2(e.land.DistanceToShore(j.first.Lat, j.first.Lon, 100*geo.NauticalMile) / 1000)
	}
	switch {
	case j.conflict(e.cfg.JumpConfirmFixes):
		ev.Kind, ev.Details.Reason = KindIdentityConflict, "one_mmsi_two_positions"
		ev.Details.Explanation = fmt.Sprintf("two ships report as MMSI %09d at once, %.0f km apart", s.MMSI, d/1000)
	case j.farFixes >= e.cfg.JumpConfirmFixes:
		ev.Kind, ev.Details.Reason = KindSpoofing, "far_jump"
		ev.End = j.farLast.Std()
		ev.Details.Returned = j.nearFixes > 0
		ev.Details.Explanation = fmt.Sprintf("the position jumped %.0f km, faster than any ship, and stayed there %.1f h while the track it left was silent", d/1000, j.farLast.Sub(j.first.Time).Hours())
	default:
		ev.Kind, ev.Details.Reason = KindInconsistency, "position_outlier"
		ev.End = j.farLast.Std()
		ev.Details.Explanation = fmt.Sprintf("%d position(s) %.0f km off the track, faster than any ship, never followed up: a data error more likely than spoofing", j.farFixes, d/1000)
	}
	if open {
		ev.Status = StatusOpen
	}
	return ev
}

// spoof checks a fix for signs of a falsified position: well inland, or
// frozen while reporting speed.
func (e *Engine) spoof(st *segState, f, prev track.Fix) {
	if e.land != nil && e.land.OnLand(f.Lat, f.Lon) {
		if st.onLand {
			r := st.runs
			r.landLast = ptOf(f)
			r.landFixes++
		} else {
			e.startLand(st, f)
		}
	} else {
		if st.onLand {
			e.endLand(st)
		}
		st.lastAtSea = f.Time
	}
	if f.HasSOG() && f.SOG >= e.cfg.SpoofFrozenMinKn && f.Lat == prev.Lat && f.Lon == prev.Lon && !prev.Time.IsZero() {
		r := st.run()
		if st.frozen == 0 {
			r.frozenStart = ptOf(prev)
		}
		st.frozen++
		r.frozenL, r.frozenSOG = ptOf(f), f.SOG
		return
	}
	if st.frozen > 0 {
		e.endFrozen(st)
	}
}

// startLand tests a fix on land. Natural Earth 1:10m land has no rivers or
// canals: ships on the Kiel Canal or the Mississippi look inland. Only a
// position far inland and far from any port or anchorage counts, and only
// for a track that was at sea within 24 hours: a ship only ever seen "on
// land" is on a lake or river Natural Earth draws as land (the Great
// Lakes), not spoofing. The tests run cheapest first; a ship in port
// stops at the shore distance. An inland run lasts until the ship is
// back at sea and is one occurrence.
func (e *Engine) startLand(st *segState, f track.Fix) {
	// The segment itself must have been at sea: a far position of the
	// MMSI inland is a new segment, a jump (see jumpInfo), not this.
	atSea := st.lastAtSea
	if atSea.IsZero() || f.Time.Sub(atSea) > 24*time.Hour {
		return
	}
	inland := e.land.DistanceToShore(f.Lat, f.Lon, 100*geo.NauticalMile)
	if inland < e.cfg.SpoofInlandKM*1000 {
		return
	}
	if e.ports != nil {
		if _, _, nearPort := e.ports.Nearest(f.Lat, f.Lon, e.cfg.SpoofInlandKM*1000); nearPort {
			return
		}
	}
	r := st.run()
	st.onLand = true
	r.landStart, r.landLast, r.landFixes, r.landInlandKM, r.landAtSea = ptOf(f), ptOf(f), 1, inland/1000, atSea
}

func (e *Engine) endLand(st *segState) {
	if !st.onLand {
		return
	}
	st.onLand = false
	e.emit(e.landEvent(st, false))
}

func (e *Engine) landEvent(st *segState, open bool) Event {
	r := st.runs
	ev := Event{Kind: KindSpoofing, Vessels: []Vessel{e.vessel(st.key)}, Start: r.landStart.Time.Std(), End: r.landLast.Time.Std(), Lat: r.landStart.Lat, Lon: r.landStart.Lon,
		Details: Details{Reason: "position_on_land", InlandKM: round2(r.landInlandKM), LastAtSea: r.landAtSea.Std(), Fixes: int(r.landFixes),
			Hours: round2(r.landLast.Time.Sub(r.landStart.Time).Hours())}}
	if open {
		ev.Status = StatusOpen
	}
	return ev
}

// endFrozen ends a run of identical positions; SpoofFrozenFixes of them
// or more while reporting speed is one occurrence.
func (e *Engine) endFrozen(st *segState) {
	n := st.frozen
	st.frozen = 0
	if int(n)+1 > e.cfg.SpoofFrozenFixes {
		e.emit(e.frozenEvent(st, int(n), false))
	}
}

func (e *Engine) frozenEvent(st *segState, n int, open bool) Event {
	r := st.runs
	ev := Event{Kind: KindSpoofing, Vessels: []Vessel{e.vessel(st.key)}, Start: r.frozenStart.Time.Std(), End: r.frozenL.Time.Std(), Lat: r.frozenL.Lat, Lon: r.frozenL.Lon,
		Details: Details{Reason: "frozen_position_while_moving", Fixes: n + 1, ReportedSpeedKn: r.frozenSOG,
			Hours: round2(r.frozenL.Time.Sub(r.frozenStart.Time).Hours())}}
	if open {
		ev.Status = StatusOpen
	}
	return ev
}
