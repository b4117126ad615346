package detect

import (
	"fmt"
	"math"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/identity"
	"github.com/tidewatch/tidewatch/track"
)

// More event kinds.
const (
	KindIdentityChange   = "identity_change"
	KindIdentityConflict = "identity_conflict"
	KindSpoofing         = "position_spoofing"
	KindDraughtChange    = "draught_change"
	KindInconsistency    = "inconsistency"
)

// StaticReport is what a ship says about itself (AIS types 5, 19, 24).
type StaticReport struct {
	MMSI        uint32
	Time        track.Time
	IMO         uint32 // 0 = not given
	Name        string
	CallSign    string
	ShipType    uint8   // 0 = not given
	Draught     float64 // metres; 0 = not given
	Destination string
	LengthM     int  // to_bow + to_stern; 0 = not given
	ClassB      bool // sent as type 19 or 24
	Source      string
}

// staticState is the last identity an MMSI reported.
type staticState struct {
	imo                    uint32
	name, callSign, dest   string
	shipType               uint8
	draught                float64
	draughtAt              track.Time
	draughtLat, draughtLon float64
	lengthM                int
	classB                 bool
	flagged                map[string]bool // inconsistencies already reported
	checkedCallSign        string
	lastPortCallEnd        track.Time
	seen                   bool // a report was processed
	imoValid               bool // imo passes its check digit
}

// repeats says the report is the last one again, field for field: most
// are (a ship sends the same static data every six minutes for days), and
// then no identity, draught or consistency check can find anything new.
func (s *staticState) repeats(r *StaticReport) bool {
	return s.seen && r.IMO == s.imo && r.Name == s.name && r.CallSign == s.callSign && r.ShipType == s.shipType &&
		r.Destination == s.dest && r.Draught == s.draught && r.LengthM == s.lengthM && r.ClassB == s.classB
}

// Static records a ship's static report, emitting identity changes,
// draught changes at sea and inconsistencies.
func (e *Engine) StaticReport(r StaticReport) {
	if r.Time.IsZero() {
		return
	}
	mi := e.info(r.MMSI)
	s := mi.ident
	if s == nil {
		s = &staticState{flagged: map[string]bool{}}
		mi.ident = s
	}
	if r.IMO != 0 {
		mi.static.imo = r.IMO
	}
	if r.Name != "" {
		mi.static.name = r.Name
	}
	if e.Designated == nil && s.repeats(&r) {
		// Only the IMO's last use moves on (another MMSI may take it).
		if r.IMO != 0 && s.imoValid {
			e.imoUse(r, mi)
		}
		return
	}
	info := mi.static
	v := []Vessel{{MMSI: r.MMSI, IMO: info.imo, Name: info.name}}
	pos := e.lastPosition(r.MMSI)
	change := func(field string, from, to any, extra map[string]any) {
		d := map[string]any{"field": field, "from": from, "to": to}
		for k, x := range extra {
			d[k] = x
		}
		e.emit(Event{Kind: KindIdentityChange, Vessels: v, Start: r.Time.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon, Details: d})
	}
	if r.Name != "" && s.name != "" && r.Name != s.name {
		change("name", s.name, r.Name, nil)
	}
	if r.IMO != 0 && s.imo != 0 && r.IMO != s.imo {
		change("imo", s.imo, r.IMO, nil)
	}
	if r.CallSign != "" && s.callSign != "" && r.CallSign != s.callSign {
		change("call_sign", s.callSign, r.CallSign, nil)
	}
	if r.ShipType != 0 && s.shipType != 0 && r.ShipType != s.shipType {
		// Declaring a fishing vessel during an STS transfer is a known
		// trick: it explains loitering and close company.
		change("ship_type", s.shipType, r.ShipType, map[string]any{"to_fishing": r.ShipType == 30})
	}
	if r.Destination != "" && s.dest != "" && r.Destination != s.dest {
		change("destination", s.dest, r.Destination, nil)
	}
	// Draught: a change of 1 m or more without a port call in between is a
	// transfer of cargo at sea.
	if r.Draught > 0 {
		if s.draught > 0 && math.Abs(r.Draught-s.draught) >= e.cfg.DraughtChangeMetres && !s.lastPortCallEnd.After(s.draughtAt) && !e.inPortCall(r.MMSI) {
			e.emit(Event{Kind: KindDraughtChange, Vessels: v, Start: s.draughtAt.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon, Details: map[string]any{
				"from_m": s.draught, "to_m": r.Draught, "change_m": round2(r.Draught - s.draught),
				"from_position": []float64{round5(s.draughtLat), round5(s.draughtLon)}, "no_port_call_between": true}})
		}
		if r.Draught != s.draught || s.draughtAt.IsZero() {
			s.draught, s.draughtAt, s.draughtLat, s.draughtLon = r.Draught, r.Time, pos.Lat, pos.Lon
		}
	}
	// IMO numbers: invalid check digits, and one IMO under two MMSIs.
	if r.IMO != 0 {
		if !identity.ValidShipIMO(int(r.IMO)) && !s.flagged["imo-check"] {
			s.flagged["imo-check"] = true
			e.emit(Event{Kind: KindIdentityConflict, Vessels: v, Start: r.Time.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon,
				Details: map[string]any{"reason": "imo_check_digit", "imo": r.IMO, "explanation": fmt.Sprintf("IMO %d fails the ship IMO check digit", r.IMO)}})
		}
		if identity.ValidShipIMO(int(r.IMO)) {
			// Placeholder and junk numbers (1, 111, 2^30-1) would tie
			// unrelated ships together.
			e.imoUse(r, mi)
		}
	}
	if e.Designated != nil && !s.flagged["designated"] {
		if what, listedFlag, ok := e.Designated(r.IMO, r.MMSI); ok {
			s.flagged["designated"] = true
			d := map[string]any{"reason": "designated_identity", "listing": what,
				"explanation": "the ship broadcasts an identity (IMO or MMSI) of a designated vessel"}
			// The flag its radio licence implies against the flag the lists
			// record: a designated ship under a new flag has hopped.
			if mid, ok := identity.MMSI(r.MMSI).Flag(); ok && listedFlag != "" {
				d["listed_flag"], d["mid_flag"], d["flag_differs"] = listedFlag, string(mid), string(mid) != listedFlag
			}
			e.emit(Event{Kind: KindIdentityConflict, Vessels: v, Start: r.Time.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon, Details: d})
		}
	}
	e.inconsistencies(r, s, v, pos)
	if r.Name != "" {
		s.name = r.Name
	}
	if r.IMO != 0 {
		s.imo = r.IMO
	}
	if r.CallSign != "" {
		s.callSign = r.CallSign
	}
	if r.ShipType != 0 {
		s.shipType = r.ShipType
	}
	if r.Destination != "" {
		s.dest = r.Destination
	}
	if r.LengthM > 0 {
		s.lengthM = r.LengthM
	}
	s.classB = s.classB || r.ClassB
	s.imoValid = s.imo != 0 && identity.ValidShipIMO(int(s.imo))
	s.seen = true
}

// imoUse reports one IMO broadcast by two MMSIs: at once (a conflict), or
// one after the other (an identity change; the flag the MID implies may
// change with it).
func (e *Engine) imoUse(r StaticReport, mi *mmsiInfo) {
	u, ok := e.imoSeen[r.IMO]
	e.imoSeen[r.IMO] = imoUser{mmsi: r.MMSI, at: r.Time}
	if !ok || u.mmsi == r.MMSI {
		return
	}
	v := []Vessel{{MMSI: r.MMSI, IMO: mi.static.imo, Name: mi.static.name}}
	pos := e.lastPosition(r.MMSI)
	other := Vessel{MMSI: u.mmsi, IMO: r.IMO, Name: e.info(u.mmsi).static.name}
	fromFlag, _ := identity.MMSI(u.mmsi).Flag()
	toFlag, _ := identity.MMSI(r.MMSI).Flag()
	if r.Time.Sub(u.at) <= time.Duration(e.cfg.SameTimeMinutes*float64(time.Minute)) && e.recentlyActive(u.mmsi, r.Time) {
		e.emit(Event{Kind: KindIdentityConflict, Vessels: []Vessel{other, v[0]}, Start: u.at.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon,
			Details: map[string]any{"reason": "one_imo_two_mmsi", "imo": r.IMO}})
		return
	}
	e.emit(Event{Kind: KindIdentityChange, Vessels: []Vessel{other, v[0]}, Start: u.at.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon,
		Details: map[string]any{"field": "mmsi", "from": u.mmsi, "to": r.MMSI, "imo": r.IMO, "flag_from": string(fromFlag), "flag_to": string(toFlag), "flag_changed": fromFlag != toFlag}})
}

type imoUser struct {
	mmsi uint32
	at   track.Time
}

// inconsistencies: a DPRK call sign on a non-DPRK MMSI, a MID allocated to
// nobody, a class B transponder on a large ship.
func (e *Engine) inconsistencies(r StaticReport, s *staticState, v []Vessel, pos track.Fix) {
	flag := func(key string, d map[string]any) {
		if s.flagged[key] {
			return
		}
		s.flagged[key] = true
		d["reason"] = key
		e.emit(Event{Kind: KindInconsistency, Vessels: v, Start: r.Time.Std(), End: r.Time.Std(), Lat: pos.Lat, Lon: pos.Lon, Details: d})
	}
	m := identity.MMSI(r.MMSI)
	midFlag, midOK := m.Flag()
	// The call-sign checks depend only on the call sign and the MMSI, so
	// they run when the call sign changes, not on every static report.
	if cs := r.CallSign; cs != "" && cs != s.checkedCallSign {
		s.checkedCallSign = cs
		if identity.IsDPRKCallSign(cs) && midFlag != "KP" {
			flag("dprk_call_sign_on_foreign_mmsi", map[string]any{"call_sign": cs, "mmsi_flag": string(midFlag)})
		}
		if c, ok := identity.CallSignCountry(cs); ok && midOK && !sameAdministration(c, midFlag) && c != "KP" {
			flag("call_sign_country_differs_from_mid", map[string]any{"call_sign": cs, "call_sign_country": string(c), "mmsi_flag": string(midFlag)})
		}
	}
	if m.Kind() == identity.StationShip && !midOK {
		flag("mid_not_allocated", map[string]any{"mid": m.MID()})
	}
	length := r.LengthM
	if length == 0 {
		length = s.lengthM
	}
	if (r.ClassB || s.classB) && length >= e.cfg.ClassBMaxLengthM {
		flag("class_b_on_large_ship", map[string]any{"length_m": length})
	}
}

func (e *Engine) lastPosition(mmsi uint32) track.Fix {
	var best track.Fix
	for _, s := range e.tracker.Open(mmsi) {
		if s.Last.Time.After(best.Time) {
			best = s.Last
		}
	}
	return best
}

func (e *Engine) recentlyActive(mmsi uint32, at track.Time) bool {
	p := e.lastPosition(mmsi)
	return !p.Time.IsZero() && at.Sub(p.Time) <= time.Hour
}

func (e *Engine) inPortCall(mmsi uint32) bool {
	for _, seg := range e.tracker.Open(mmsi) {
		if seg.Data.stopped {
			return true
		}
	}
	return false
}

// notePortCall remembers when an MMSI last left a port, for draught changes.
func (e *Engine) notePortCall(mmsi uint32, end track.Time) {
	if s := e.info(mmsi).ident; s != nil && end.After(s.lastPortCallEnd) {
		s.lastPortCallEnd = end
	}
}

// twoAtOnce notes a new segment that started far from another segment of
// the same MMSI that reported moments before. What it was is decided by
// what follows: if the new segment goes on reporting (jumpConfirmFixes
// fixes), two ships share the MMSI (identity_conflict, reported then); if
// it dies out, the position was a one-off impossible jump (spoofing,
// reported when the segment closes).
func (e *Engine) twoAtOnce(st *segState, seg *segment, f track.Fix) {
	window := time.Duration(e.cfg.SameTimeMinutes * float64(time.Minute))
	for _, o := range e.tracker.Open(seg.MMSI) {
		if o == seg || f.Time.Sub(o.Last.Time) > window {
			continue
		}
		if d := geo.Distance(o.Last.Lat, o.Last.Lon, f.Lat, f.Lon); d < e.cfg.ConflictMinKM*1000 {
			continue // near enough to be one ship with a jittery clock or GPS
		}
		st.jump = &jumpInfo{otherID: o.ID, other: o.Last, first: f}
		return
	}
}

// jumpInfo is a segment that began far from a live segment of its MMSI.
type jumpInfo struct {
	otherID  int
	other    track.Fix
	first    track.Fix
	reported bool
}

// jumpConfirmFixes is how many fixes make a far-away segment a second ship.
const jumpConfirmFixes = 3

// jumpProgress reports the conflict once the new segment has kept reporting.
func (e *Engine) jumpProgress(st *segState, seg *segment) {
	j := st.jump
	if j == nil || j.reported || seg.Fixes < jumpConfirmFixes {
		return
	}
	j.reported = true
	d := geo.Distance(j.other.Lat, j.other.Lon, j.first.Lat, j.first.Lon)
	info := e.info(seg.MMSI).static
	e.emit(Event{Kind: KindIdentityConflict,
		Vessels: []Vessel{{MMSI: seg.MMSI, Segment: j.otherID, IMO: info.imo, Name: info.name}, {MMSI: seg.MMSI, Segment: seg.ID, IMO: info.imo, Name: info.name}},
		Start:   j.other.Time.Std(), End: j.first.Time.Std(), Lat: j.first.Lat, Lon: j.first.Lon,
		Details: map[string]any{"reason": "one_mmsi_two_positions", "distance_km": round2(d / 1000),
			"positions":        [][]float64{{round5(j.other.Lat), round5(j.other.Lon)}, {round5(j.first.Lat), round5(j.first.Lon)}},
			"implied_speed_kn": round2(d / geo.NauticalMile / math.Max(j.first.Time.Sub(j.other.Time).Hours(), 1.0/3600))}})
}

// jumpClosed reports a far-away segment that never became a second ship.
func (e *Engine) jumpClosed(st *segState, seg *segment) {
	j := st.jump
	if j == nil || j.reported || st.spoofed {
		return // already reported as a position on land
	}
	d := geo.Distance(j.other.Lat, j.other.Lon, j.first.Lat, j.first.Lon)
	e.emit(Event{Kind: KindSpoofing, Vessels: []Vessel{e.vessel(st.key)}, Start: j.other.Time.Std(), End: seg.Last.Time.Std(), Lat: j.first.Lat, Lon: j.first.Lon,
		Details: map[string]any{"reason": "impossible_jump", "fixes": seg.Fixes, "distance_km": round2(d / 1000),
			"from_position":    []float64{round5(j.other.Lat), round5(j.other.Lon)},
			"implied_speed_kn": round2(d / geo.NauticalMile / math.Max(j.first.Time.Sub(j.other.Time).Hours(), 1.0/3600))}})
}

// spoof checks a fix for signs of a falsified position: well inland, or
// frozen while reporting speed.
func (e *Engine) spoof(st *segState, f, prev track.Fix) {
	if e.land != nil && e.land.OnLand(f.Lat, f.Lon) {
		if !st.onLand {
			// Natural Earth 1:10m land has no rivers or canals: ships on the
			// Kiel Canal or the Mississippi look inland. Only a position far
			// inland and far from any port or anchorage counts.
			// And only for a ship that was at sea: a ship that has only
			// ever been seen "on land" is on a lake or river Natural Earth
			// draws as land (the Great Lakes), not spoofing. The tests run
			// cheapest first; a ship in port stops at the shore distance.
			var atSea track.Time
			for _, o := range e.tracker.Open(st.key.mmsi) {
				if o.Data.lastAtSea.After(atSea) {
					atSea = o.Data.lastAtSea
				}
			}
			var inland float64
			spoofed := !atSea.IsZero() && f.Time.Sub(atSea) <= 24*time.Hour
			if spoofed {
				inland = e.land.DistanceToShore(f.Lat, f.Lon, 100*geo.NauticalMile)
				spoofed = inland >= e.cfg.SpoofInlandKM*1000
			}
			if spoofed && e.ports != nil {
				_, _, nearPort := e.ports.Nearest(f.Lat, f.Lon, e.cfg.SpoofInlandKM*1000)
				spoofed = !nearPort
			}
			if spoofed {
				st.onLand, st.spoofed = true, true
				e.emit(Event{Kind: KindSpoofing, Vessels: []Vessel{e.vessel(st.key)}, Start: f.Time.Std(), End: f.Time.Std(), Lat: f.Lat, Lon: f.Lon,
					Details: map[string]any{"reason": "position_on_land", "inland_km": round2(inland / 1000), "last_at_sea": atSea}})
			}
		}
	} else {
		st.onLand = false
		st.lastAtSea = f.Time
	}
	if f.HasSOG() && f.SOG >= e.cfg.SpoofFrozenMinKn && f.Lat == prev.Lat && f.Lon == prev.Lon && !prev.Time.IsZero() {
		if st.frozen == 0 {
			st.frozenStart = prev
		}
		st.frozen++
		if st.frozen == e.cfg.SpoofFrozenFixes {
			e.emit(Event{Kind: KindSpoofing, Vessels: []Vessel{e.vessel(st.key)}, Start: st.frozenStart.Time.Std(), End: f.Time.Std(), Lat: f.Lat, Lon: f.Lon,
				Details: map[string]any{"reason": "frozen_position_while_moving", "fixes": st.frozen + 1, "reported_speed_kn": f.SOG}})
		}
		return
	}
	st.frozen = 0
}

// sameAdministration treats China, Taiwan, Hong Kong and Macao as one for
// call signs: the ITU allocates the whole B block to China, and ships of
// all four use series inside it.
func sameAdministration(a, b identity.Country) bool {
	if a == b {
		return true
	}
	china := func(c identity.Country) bool { return c == "CN" || c == "TW" || c == "HK" || c == "MO" }
	return china(a) && china(b)
}
