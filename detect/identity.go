package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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

// imoNotAvailable is the 30-bit all-ones IMO transponders send when none
// was configured: no IMO, not a bad one.
const imoNotAvailable = 1<<30 - 1

// Inconsistency reasons, one bit each in staticState.flagged: each is
// reported once per MMSI.
const (
	flagIMOCheck = 1 << iota
	flagDesignated
	flagDPRKCallSign
	flagCallSignCountry
	flagMIDNotAllocated
	flagClassB
	flagPlaceholder
)

// staticState is the last identity an MMSI reported, and its identity
// occurrences waiting to close.
type staticState struct {
	imo                    uint32
	name, callSign, dest   string
	shipType               uint8
	draught                float64
	draughtAt              track.Time
	draughtLat, draughtLon float64
	lengthM                int
	classB                 bool
	imoValid               bool // imo passes its check digit
	seen                   bool // a report was processed
	checkedCallSign        string
	lastPortCallEnd        track.Time
	pending                []fieldChange
}

// repeats says the report is the last one again, field for field: most
// are (a ship sends the same static data every six minutes for days), and
// then no identity, draught or consistency check can find anything new.
func (s *staticState) repeats(r *StaticReport) bool {
	return s.seen && r.IMO == s.imo && r.Name == s.name && r.CallSign == s.callSign && r.ShipType == s.shipType &&
		r.Destination == s.dest && r.Draught == s.draught && r.LengthM == s.lengthM && r.ClassB == s.classB
}

// fieldChange is one identity or draught change occurrence of an MMSI:
// a field went from one value to another; changes back and forth between
// the same two values within IdentityResumeHours of the last one are the
// same occurrence (two transmitters sharing an MMSI alternate their
// names every few minutes: one occurrence, not a change per report).
type fieldChange struct {
	field       string
	from, to    string
	start, last track.Time // the occurrence's start and its latest change
	changes     int
	lat, lon    float64
	toFishing   bool
	// draught changes
	fromM, toM float64
	fromPos    LatLon
}

// placeholderMMSI reports an MMSI no real ship station should carry but
// many transponders do: not a ship's structure (seven digits such as a
// manufacturer's default 1193046, 0, 12345678), a MID followed by six
// zeros (273000000), or one digit nine times (111111111). Identity and
// position-conflict findings on them say nothing about one ship: they are
// reported once as an inconsistency instead.
func placeholderMMSI(mmsi uint32) bool {
	m := identity.MMSI(mmsi)
	if m.Kind() == identity.StationInvalid {
		return true
	}
	if mmsi >= 200000000 && mmsi <= 799999999 && mmsi%1000000 == 0 {
		return true
	}
	if mmsi%111111111 == 0 || mmsi == 123456789 {
		return true
	}
	return false
}

// shipMMSI reports an MMSI whose identity the detectors judge: a ship
// station that is not a placeholder.
func shipMMSI(mmsi uint32) bool {
	return identity.MMSI(mmsi).Kind() == identity.StationShip && !placeholderMMSI(mmsi)
}

// sharedPlaceholder reports a placeholder MMSI once, when it shows a
// second transmitter (a far segment, a changed identity): what would be
// a conflict or a change on a real MMSI.
func (e *Engine) sharedPlaceholder(mmsi uint32, v *vesselState, at track.Time, lat, lon float64) {
	if placeholderMMSI(mmsi) {
		e.flagOnce(mmsi, v, at, lat, lon, flagPlaceholder, Details{Reason: "placeholder_mmsi",
			Explanation: fmt.Sprintf("MMSI %09d is a default or placeholder several transponders share: identity findings on it are not reported", mmsi)})
	}
}

// flagOnce emits an inconsistency the first time its reason is found for
// the MMSI.
func (e *Engine) flagOnce(mmsi uint32, v *vesselState, at track.Time, lat, lon float64, bit uint16, d Details) {
	if v.flagged&bit != 0 {
		return
	}
	v.flagged |= bit
	e.emit(Event{Kind: KindInconsistency, Vessels: []Vessel{{MMSI: mmsi, IMO: v.static.imo, Name: v.static.name}}, Start: at.Std(), End: at.Std(), Lat: lat, Lon: lon, Details: d})
}

// StaticReport records a ship's static report, finding identity changes,
// draught changes at sea, identity conflicts and inconsistencies.
func (e *Engine) StaticReport(r StaticReport) {
	if r.Time.IsZero() {
		return
	}
	if r.IMO == imoNotAvailable {
		r.IMO = 0
	}
	i := e.tracker.Index(r.MMSI)
	e.tracker.Seen(i, r.Time)
	v := e.tracker.Data(i)
	v.static.set(r)
	ship := shipMMSI(r.MMSI)
	if e.role == roleSeq {
		// The IMO's users only: the MMSI's identity is its worker's. What
		// follows calls imoUse for exactly these reports (a repeated
		// report's IMO is the last one, valid or not alike).
		if r.IMO != 0 && ship && identity.ValidShipIMO(int(r.IMO)) {
			if e.imoParts > 0 {
				e.routeIMO(r.MMSI, v, r.IMO)
			} else {
				e.imoUse(r)
			}
		}
		return
	}
	if v.ident == nil {
		v.ident = &staticState{}
	}
	s := v.ident
	if e.Designated == nil && s.repeats(&r) {
		// Only the IMO's last use moves on (another MMSI may take it).
		if r.IMO != 0 && s.imoValid && ship && e.role == roleEngine {
			e.imoUse(r)
		}
		return
	}
	lat, lon := v.lastLat, v.lastLon
	{
		change := func(field, from, to string) {
			if !ship {
				e.sharedPlaceholder(r.MMSI, v, r.Time, lat, lon)
				return
			}
			e.fieldChanged(r.MMSI, s, fieldChange{field: field, from: from, to: to, start: r.Time, last: r.Time, lat: lat, lon: lon,
				toFishing: field == "ship_type" && to == "30"})
		}
		if r.Name != "" && s.name != "" && r.Name != s.name {
			change("name", s.name, r.Name)
		}
		if r.IMO != 0 && s.imo != 0 && r.IMO != s.imo {
			change("imo", strconv.Itoa(int(s.imo)), strconv.Itoa(int(r.IMO)))
		}
		if r.CallSign != "" && s.callSign != "" && r.CallSign != s.callSign {
			change("call_sign", s.callSign, r.CallSign)
		}
		if r.ShipType != 0 && s.shipType != 0 && r.ShipType != s.shipType {
			// Declaring a fishing vessel during an STS transfer is a known
			// trick: it explains loitering and close company.
			change("ship_type", strconv.Itoa(int(s.shipType)), strconv.Itoa(int(r.ShipType)))
		}
		if r.Destination != "" && s.dest != "" && r.Destination != s.dest {
			change("destination", s.dest, r.Destination)
		}
		// Draught: a change of 1 m or more without a port call in between
		// is a transfer of cargo at sea.
		if ship && r.Draught > 0 && s.draught > 0 && math.Abs(r.Draught-s.draught) >= e.cfg.DraughtChangeMetres &&
			!s.lastPortCallEnd.After(s.draughtAt) && !e.inPortCall(r.MMSI) {
			e.fieldChanged(r.MMSI, s, fieldChange{field: "draught", from: ftoa(s.draught), to: ftoa(r.Draught), start: s.draughtAt, last: r.Time,
				lat: lat, lon: lon, fromM: s.draught, toM: r.Draught, fromPos: LatLon{round5(s.draughtLat), round5(s.draughtLon)}})
		}
	}
	if r.Draught > 0 && (r.Draught != s.draught || s.draughtAt.IsZero()) {
		s.draught, s.draughtAt, s.draughtLat, s.draughtLon = r.Draught, r.Time, lat, lon
	}
	// IMO numbers: a bad check digit is a data-quality finding; a valid
	// one may be broadcast by two MMSIs.
	if r.IMO != 0 {
		if !identity.ValidShipIMO(int(r.IMO)) {
			e.flagOnce(r.MMSI, v, r.Time, lat, lon, flagIMOCheck, Details{Reason: "imo_check_digit", IMO: r.IMO,
				Explanation: fmt.Sprintf("IMO %d fails the ship IMO check digit", r.IMO)})
		} else if ship && e.role == roleEngine {
			// Placeholder and junk numbers (1, 111) fail the check digit
			// and would tie unrelated ships together.
			e.imoUse(r)
		}
	}
	if e.Designated != nil && v.flagged&flagDesignated == 0 {
		if what, listedFlag, ok := e.Designated(r.IMO, r.MMSI); ok {
			v.flagged |= flagDesignated
			d := Details{Reason: "designated_identity", Listing: what,
				Explanation: "the ship broadcasts an identity (IMO or MMSI) of a designated vessel"}
			// The flag its radio licence implies against the flag the lists
			// record: a designated ship under a new flag has hopped.
			if mid, ok := identity.MMSI(r.MMSI).Flag(); ok && listedFlag != "" {
				d.ListedFlag, d.MIDFlag, d.FlagDiffers = listedFlag, string(mid), string(mid) != listedFlag
			}
			e.emit(Event{Kind: KindIdentityConflict, Vessels: []Vessel{{MMSI: r.MMSI, IMO: v.static.imo, Name: v.static.name}},
				Start: r.Time.Std(), End: r.Time.Std(), Lat: lat, Lon: lon, Details: d})
		}
	}
	e.inconsistencies(r, v, s)
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

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// fieldChanged opens a change occurrence (fc.last is when the change was
// reported), or extends the one open for the same field between the same
// two values.
func (e *Engine) fieldChanged(mmsi uint32, s *staticState, fc fieldChange) {
	at := fc.last
	for i := range s.pending {
		p := &s.pending[i]
		if p.field != fc.field {
			continue
		}
		if ((p.from == fc.from && p.to == fc.to) || (p.from == fc.to && p.to == fc.from)) && at.Sub(p.last) <= e.resume {
			p.changes++
			p.last = at
			return
		}
		// Another change of the field: the open one is over.
		e.emit(e.changeEvent(mmsi, *p, false))
		s.pending = slices.Delete(s.pending, i, i+1)
		break
	}
	fc.changes = 1
	s.pending = append(s.pending, fc)
	e.identPending[mmsi] = struct{}{}
}

func (e *Engine) changeEvent(mmsi uint32, c fieldChange, open bool) Event {
	v := []Vessel{{MMSI: mmsi}}
	if s := e.known(mmsi); s != nil {
		v[0].IMO, v[0].Name = s.static.imo, s.static.name
	}
	ev := Event{Kind: KindIdentityChange, Vessels: v, Start: c.start.Std(), End: c.last.Std(), Lat: c.lat, Lon: c.lon,
		Details: Details{Field: c.field, From: c.from, To: c.to, ToFishing: c.toFishing, Changes: c.changes}}
	if c.field == "draught" {
		ev.Kind = KindDraughtChange
		ev.Details = Details{FromM: c.fromM, ToM: c.toM, ChangeM: round2(c.toM - c.fromM), FromPosition: c.fromPos,
			NoPortCallBetween: true, Changes: c.changes}
	}
	if open {
		ev.Status = StatusOpen
	}
	return ev
}

// closeChanges emits the MMSI's change occurrences not resumed within
// IdentityResumeHours (all of them when all is set).
func (e *Engine) closeChanges(mmsi uint32, v *vesselState, all bool) {
	s := v.ident
	kept := s.pending[:0]
	for _, c := range s.pending {
		if all || e.now.Sub(c.last) > e.resume {
			e.emit(e.changeEvent(mmsi, c, false))
			continue
		}
		kept = append(kept, c)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	if len(kept) == 0 {
		s.pending = nil
		delete(e.identPending, mmsi)
	}
}

// closeIdentity closes the identity occurrences that were not resumed
// (all when all is set), in MMSI and IMO order.
func (e *Engine) closeIdentity(all bool) {
	mmsis := make([]uint32, 0, len(e.identPending))
	for m := range e.identPending {
		mmsis = append(mmsis, m)
	}
	slices.Sort(mmsis)
	for _, m := range mmsis {
		if v := e.known(m); v != nil && v.ident != nil {
			e.closeChanges(m, v, all)
		} else {
			delete(e.identPending, m)
		}
	}
	imos := make([]uint32, 0, len(e.imoPending))
	for k := range e.imoPending {
		imos = append(imos, k)
	}
	slices.Sort(imos)
	for _, k := range imos {
		e.closeIMO(k, all)
	}
	if all || e.now.Sub(e.imoPruned) >= 24*time.Hour {
		e.imoPruned = e.now
		// Forget IMOs nobody broadcast for 30 days, and users that have
		// not for 30 days (memory follows the ships in play): a handover
		// after that is not seen. The last user of an IMO with something
		// open stays (it was used within resume).
		for k, st := range e.imos {
			_, busy := e.imoPending[k]
			if !busy && e.now.Sub(st.users[len(st.users)-1].last) > imoForget {
				delete(e.imos, k)
				continue
			}
			st.dropIdleUsers(e.now, imoForget)
		}
		if e.role == roleSeq && e.imoParts > 0 {
			// Its IMO workers prune theirs at this point.
			e.pruneRoutes()
		}
	}
}

// imoForget is how long an IMO's last MMSI is remembered.
const imoForget = 30 * 24 * time.Hour

// imoState is who broadcast one IMO: its recent users (at most
// maxIMOUsers, most recent last), a handover from one MMSI to another
// waiting to be confirmed, and the conflicts open on it.
type imoState struct {
	users     []imoUser
	hand      *handover
	conflicts []*imoConflict
}

const maxIMOUsers = 4

type imoUser struct {
	mmsi        uint32
	first, last track.Time // the current spell of use
}

type handover struct {
	from, to          uint32
	fromLast, toFirst track.Time
	lat, lon          float64
}

type imoConflict struct {
	a, b        uint32
	start, last track.Time
}

// imoUse follows one IMO's MMSIs. Two MMSIs using it in overlapping
// spells (or one within SameTimeMinutes of the other's last use while
// that one is still heard) are an identity conflict, one occurrence while
// both keep using it, closed when one of them has not for
// IdentityResumeHours. One MMSI taking over from another without overlap
// is an identity change (field "mmsi"), reported once the old one has not
// come back for IdentityResumeHours: if it does, both are in use and it
// is a conflict instead.
func (e *Engine) imoUse(r StaticReport) {
	x, m, t := r.IMO, r.MMSI, r.Time
	st := e.imos[x]
	if st == nil {
		st = &imoState{}
		e.imos[x] = st
	}
	ui := -1
	for i := range st.users {
		if st.users[i].mmsi == m {
			ui = i
		}
	}
	if ui < 0 {
		if len(st.users) == maxIMOUsers {
			st.users = st.users[1:]
		}
		st.users = append(st.users, imoUser{mmsi: m, first: t, last: t})
	} else {
		u := st.users[ui]
		if t.Sub(u.last) > e.resume {
			u.first = t // a new spell of use
		}
		u.last = t
		// most recent last
		st.users = append(slices.Delete(st.users, ui, ui+1), u)
	}
	u := st.users[len(st.users)-1]
	same := minutes(e.cfg.SameTimeMinutes)
	var prev *imoUser
	for i := len(st.users) - 2; i >= 0; i-- {
		o := st.users[i]
		// Spells overlap when the other was used after this one began.
		concurrent := !o.last.Before(u.first)
		if !concurrent && u.first.Sub(o.last) <= same {
			concurrent = e.recentlyActive(o.mmsi, t)
		}
		if concurrent {
			e.imoConflictSeen(x, st, o, u, t)
		} else if prev == nil {
			prev = &st.users[i]
		}
	}
	if prev != nil && st.hand == nil && prev.last.Before(u.first) && u.first == t && !e.inConflict(st, prev.mmsi, m) {
		v := e.known(m)
		st.hand = &handover{from: prev.mmsi, to: m, fromLast: prev.last, toFirst: t, lat: v.lastLat, lon: v.lastLon}
		e.imoPending[x] = struct{}{}
	}
}

func (e *Engine) inConflict(st *imoState, a, b uint32) bool {
	a, b = min(a, b), max(a, b)
	for _, c := range st.conflicts {
		if c.a == a && c.b == b {
			return true
		}
	}
	return false
}

// imoConflictSeen extends or opens the conflict of two MMSIs on one IMO.
func (e *Engine) imoConflictSeen(x uint32, st *imoState, o, u imoUser, t track.Time) {
	a, b := min(o.mmsi, u.mmsi), max(o.mmsi, u.mmsi)
	if h := st.hand; h != nil && min(h.from, h.to) == a && max(h.from, h.to) == b {
		st.hand = nil // not a handover: both are in use
	}
	for _, c := range st.conflicts {
		if c.a == a && c.b == b {
			c.last = t
			return
		}
	}
	st.conflicts = append(st.conflicts, &imoConflict{a: a, b: b, start: max(o.first, u.first), last: t})
	e.imoPending[x] = struct{}{}
}

// imoConflictEvent reports the conflict with the two MMSIs' latest
// positions.
func (e *Engine) imoConflictEvent(x uint32, c *imoConflict, open bool) Event {
	ev := Event{Kind: KindIdentityConflict, Vessels: []Vessel{e.vessel(segKey{c.a, 0}), e.vessel(segKey{c.b, 0})},
		Start: c.start.Std(), End: c.last.Std(),
		Details: Details{Reason: "one_imo_two_mmsi", IMO: x, Hours: round2(c.last.Sub(c.start).Hours()),
			Explanation: fmt.Sprintf("IMO %d broadcast by MMSIs %09d and %09d at once", x, c.a, c.b)}}
	va, vb := e.known(c.a), e.known(c.b)
	if va != nil && vb != nil && !va.lastT.IsZero() && !vb.lastT.IsZero() {
		ev.Details.Positions = []LatLon{{round5(va.lastLat), round5(va.lastLon)}, {round5(vb.lastLat), round5(vb.lastLon)}}
		ev.Details.DistanceKM = round2(geo.Distance(va.lastLat, va.lastLon, vb.lastLat, vb.lastLon) / 1000)
	}
	if va != nil && !va.lastT.IsZero() {
		ev.Lat, ev.Lon = va.lastLat, va.lastLon
	}
	for i := range ev.Vessels {
		ev.Vessels[i].IMO = x
	}
	if open {
		ev.Status = StatusOpen
	}
	return ev
}

// closeIMO closes the IMO's conflicts not resumed within
// IdentityResumeHours and confirms a handover whose old MMSI stayed away
// that long (all of them when all is set).
func (e *Engine) closeIMO(x uint32, all bool) {
	st := e.imos[x]
	if st == nil {
		delete(e.imoPending, x)
		return
	}
	kept := st.conflicts[:0]
	for _, c := range st.conflicts {
		if all || e.now.Sub(c.last) > e.resume {
			e.emit(e.imoConflictEvent(x, c, false))
			continue
		}
		kept = append(kept, c)
	}
	clear(st.conflicts[len(kept):])
	st.conflicts = kept
	if h := st.hand; h != nil && (all || e.now.Sub(h.toFirst) > e.resume) {
		st.hand = nil
		fromFlag, _ := identity.MMSI(h.from).Flag()
		toFlag, _ := identity.MMSI(h.to).Flag()
		from, to := e.vessel(segKey{h.from, 0}), e.vessel(segKey{h.to, 0})
		from.IMO, to.IMO = x, x
		e.emit(Event{Kind: KindIdentityChange, Vessels: []Vessel{from, to}, Start: h.fromLast.Std(), End: h.toFirst.Std(), Lat: h.lat, Lon: h.lon,
			Details: Details{Field: "mmsi", From: fmt.Sprintf("%09d", h.from), To: fmt.Sprintf("%09d", h.to), IMO: x, Changes: 1,
				FlagFrom: string(fromFlag), FlagTo: string(toFlag), FlagChanged: fromFlag != toFlag}})
	}
	if len(st.conflicts) == 0 && st.hand == nil {
		st.conflicts = nil
		delete(e.imoPending, x)
	}
	// Users no longer in play make room (the most recent stays, for
	// handovers).
	st.dropIdleUsers(e.now, e.resume)
}

// dropIdleUsers forgets the users idle longer than idle at now, but the
// most recent (it stays, for handovers).
func (st *imoState) dropIdleUsers(now track.Time, idle time.Duration) {
	if len(st.users) < 2 {
		return
	}
	last := st.users[len(st.users)-1]
	kept := st.users[:0]
	for _, u := range st.users[:len(st.users)-1] {
		if now.Sub(u.last) <= idle {
			kept = append(kept, u)
		}
	}
	st.users = append(kept, last)
}

// inconsistencies: a DPRK call sign on a non-DPRK MMSI, a MID allocated to
// nobody, a class B transponder on a large ship.
func (e *Engine) inconsistencies(r StaticReport, v *vesselState, s *staticState) {
	lat, lon := v.lastLat, v.lastLon
	flag := func(bit uint16, d Details) { e.flagOnce(r.MMSI, v, r.Time, lat, lon, bit, d) }
	m := identity.MMSI(r.MMSI)
	midFlag, midOK := m.Flag()
	// The call-sign checks depend only on the call sign and the MMSI, so
	// they run when the call sign changes, not on every static report.
	if cs := r.CallSign; cs != "" && cs != s.checkedCallSign {
		s.checkedCallSign = cs
		// A ship's call sign is four or five characters in the DPRK
		// series; longer ones are something else run together (HMAS
		// Armidale sends "P83VKCV": its pennant number P83 and its
		// Australian call sign VKCV).
		if identity.IsDPRKCallSign(cs) && midFlag != "KP" && len(cs) <= 5 {
			flag(flagDPRKCallSign, Details{Reason: "dprk_call_sign_on_foreign_mmsi", CallSign: cs, MMSIFlag: string(midFlag)})
		}
		if c, ok := identity.CallSignCountry(cs); ok && midOK && !sameAdministration(c, midFlag) && c != "KP" {
			flag(flagCallSignCountry, Details{Reason: "call_sign_country_differs_from_mid", CallSign: cs, CSCountry: string(c), MMSIFlag: string(midFlag)})
		}
	}
	if m.Kind() == identity.StationShip && !midOK {
		flag(flagMIDNotAllocated, Details{Reason: "mid_not_allocated", MID: m.MID()})
	}
	length := r.LengthM
	if length == 0 {
		length = s.lengthM
	}
	if (r.ClassB || s.classB) && length >= e.cfg.ClassBMaxLengthM {
		flag(flagClassB, Details{Reason: "class_b_on_large_ship", LengthM: length})
	}
}

// lastPosition is the latest fix of the MMSI's open segments.
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
	if v := e.known(mmsi); v != nil && v.ident != nil && end.After(v.ident.lastPortCallEnd) {
		v.ident.lastPortCallEnd = end
	}
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
