package detect

import (
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// engineRun feeds fixes and static reports (in any order: they go through
// the reorder buffer) to an engine without geography but with zones, and
// returns its events sorted.
func engineRun(t *testing.T, zones []*geo.Zone, fixes []track.Fix, statics []StaticReport) []Event {
	t.Helper()
	var evs []Event
	e := NewEngine(DefaultConfig, nil, nil, zones, func(ev Event) { evs = append(evs, ev) })
	// In time order, so that none is later than the reorder window.
	statics = append([]StaticReport(nil), statics...)
	sort.SliceStable(statics, func(i, j int) bool { return statics[i].Time < statics[j].Time })
	fixes = byTime(append([]track.Fix(nil), fixes...))
	for i, j := 0, 0; i < len(statics) || j < len(fixes); {
		if j == len(fixes) || (i < len(statics) && statics[i].Time <= fixes[j].Time) {
			e.Static(statics[i])
			i++
		} else {
			e.Position(fixes[j])
			j++
		}
	}
	if e.Late() != 0 {
		t.Fatalf("%d late", e.Late())
	}
	e.Flush()
	SortEvents(evs)
	return evs
}

func reasons(evs []Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		k := e.Kind
		if r := e.Details.Reason; r != "" {
			k += "/" + r
		}
		if f := e.Details.Field; f != "" {
			k += "/" + f
		}
		m[k]++
	}
	return m
}

// drop removes a share of the fixes at random (reception loss).
func drop(f []track.Fix, share float64, seed int64) []track.Fix {
	rng := rand.New(rand.NewSource(seed))
	var out []track.Fix
	for _, x := range f {
		if rng.Float64() >= share {
			out = append(out, x)
		}
	}
	return out
}

// Two MMSIs broadcast the same IMO at the same time, 600 km apart, for a
// day, each sending its static report every six minutes with a fifth of
// the reports lost: one identity_conflict for the period, and no
// identity_change "mmsi" flip-flopping between them (the issue saw 40-60
// conflicts and 20-30 changes for one pair in one day).
func TestIMOConflictOneEventPerPeriod(t *testing.T) {
	a := path(352000003, 0, 24*time.Hour, 10*time.Minute, 30.0, 124.0, 10, 0)
	b := path(667000004, 3*time.Minute, 24*time.Hour, 10*time.Minute, 35.0, 128.0, 10, 180)
	var statics []StaticReport
	for m := 0; m < 24*60; m += 6 {
		statics = append(statics, StaticReport{MMSI: 352000003, Time: t0.Add(time.Duration(m) * time.Minute), IMO: 9417115, Name: "KOTI"},
			StaticReport{MMSI: 667000004, Time: t0.Add(time.Duration(m+3) * time.Minute), IMO: 9417115, Name: "KOTI"})
	}
	rng := rand.New(rand.NewSource(1))
	kept := statics[:0]
	for _, s := range statics {
		if rng.Float64() >= 0.2 {
			kept = append(kept, s)
		}
	}
	evs := engineRun(t, nil, byTime(append(a, b...)), kept)
	r := reasons(evs)
	if r["identity_conflict/one_imo_two_mmsi"] != 1 || r["identity_change/mmsi"] != 0 {
		t.Fatalf("want one conflict and no mmsi change: %v", r)
	}
	for _, e := range evs {
		if e.Details.Reason == "one_imo_two_mmsi" {
			if e.End.Sub(e.Start) < 23*time.Hour || e.Details.DistanceKM < 500 || len(e.Details.Positions) != 2 || e.Details.IMO != 9417115 {
				t.Errorf("conflict %+v", e)
			}
			if e.Vessels[0].MMSI != 352000003 || e.Vessels[1].MMSI != 667000004 {
				t.Errorf("vessels %+v", e.Vessels)
			}
		}
	}
}

// An IMO that moves from one MMSI to another (a re-flag: the old one
// falls silent, the new one begins half an hour later) is one identity
// change "mmsi", not a conflict. If the old MMSI comes back while the new
// one is in use, both are in use: a conflict, and no change.
func TestIMOHandover(t *testing.T) {
	var statics []StaticReport
	for m := 0; m < 10*60; m += 6 {
		statics = append(statics, StaticReport{MMSI: 667000202, Time: t0.Add(time.Duration(m) * time.Minute), IMO: 9300207, Name: "OCEAN STAR"})
	}
	for m := 10*60 + 30; m < 30*60; m += 6 {
		statics = append(statics, StaticReport{MMSI: 572000222, Time: t0.Add(time.Duration(m) * time.Minute), IMO: 9300207, Name: "OCEAN PEARL"})
	}
	fixes := append(path(667000202, 0, 10*time.Hour, 10*time.Minute, 30, 124, 8, 0), path(572000222, 10*time.Hour+30*time.Minute, 20*time.Hour, 10*time.Minute, 31.4, 124, 8, 0)...)
	r := reasons(engineRun(t, nil, byTime(fixes), statics))
	if r["identity_change/mmsi"] != 1 || r["identity_conflict/one_imo_two_mmsi"] != 0 {
		t.Errorf("handover: %v", r)
	}
	// The old MMSI speaks again an hour after the handover.
	back := append([]StaticReport(nil), statics...)
	for m := 11 * 60; m < 14*60; m += 6 {
		back = append(back, StaticReport{MMSI: 667000202, Time: t0.Add(time.Duration(m) * time.Minute), IMO: 9300207, Name: "OCEAN STAR"})
	}
	fixes = append(fixes, path(667000202, 11*time.Hour, 3*time.Hour, 10*time.Minute, 20, 120, 8, 0)...)
	r = reasons(engineRun(t, nil, byTime(fixes), back))
	if r["identity_change/mmsi"] != 0 || r["identity_conflict/one_imo_two_mmsi"] != 1 {
		t.Errorf("old MMSI back: %v", r)
	}
}

// Two ships broadcast one MMSI 700 km apart for a day, each losing a
// third of its reports: one identity_conflict "one_mmsi_two_positions"
// for the period, with both positions and the distance.
func TestOneMMSITwoShipsOneConflict(t *testing.T) {
	a := drop(path(511000404, 0, 24*time.Hour, 3*time.Minute, 35.0, 122.5, 11, 30), 0.33, 1)
	b := drop(path(511000404, 6*time.Hour, 18*time.Hour, 3*time.Minute, 30.0, 125.0, 11, 45), 0.33, 2)
	evs := engineRun(t, nil, byTime(append(a, b...)), nil)
	r := reasons(evs)
	if r["identity_conflict/one_mmsi_two_positions"] != 1 || len(evs) != 1 {
		t.Fatalf("events %v", summary(evs))
	}
	e := evs[0]
	if e.Details.DistanceKM < 500 || len(e.Details.Positions) != 2 || e.End.Sub(e.Start) < 17*time.Hour || e.Vessels[0].Segment == e.Vessels[1].Segment {
		t.Errorf("conflict %+v", e)
	}
}

// A ship's position jumps 350 km away, stays there five hours while its
// real track is silent, then comes back: one position_spoofing
// "far_jump", returned, with both positions, the distance and the
// duration (the issue found no event for this case).
func TestFarJumpAndStay(t *testing.T) {
	f := path(636000777, 0, 3*time.Hour, 5*time.Minute, 33.0, 124.0, 10, 0)
	f = append(f, path(636000777, 3*time.Hour+5*time.Minute, 5*time.Hour, 5*time.Minute, 36.2, 124.8, 10, 0)...)
	f = append(f, path(636000777, 8*time.Hour+10*time.Minute, 3*time.Hour, 5*time.Minute, 33.52, 124.0, 10, 0)...)
	evs := engineRun(t, nil, f, nil)
	if len(evs) != 1 || evs[0].Kind != KindSpoofing || evs[0].Details.Reason != "far_jump" {
		t.Fatalf("events %v", summary(evs))
	}
	d := evs[0].Details
	if !d.Returned || d.DistanceKM < 300 || d.Hours < 4.9 || len(d.Positions) != 2 || d.FarFixes < 50 || evs[0].Severity != SeverityMedium {
		t.Errorf("far jump %+v", evs[0])
	}
}

// A satellite-received ship whose fixes are stamped up to three minutes
// out of order while it steams at 17 kn (as SUN PRINCESS in the exactEarth
// files), then goes dark for 13 hours: one gap, however the fixes were
// split into tracks (the issue saw three overlapping gaps).
func TestOverlappingGapsOneEvent(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	jitter := func(f []track.Fix) []track.Fix {
		for i := range f {
			f[i].Time = f[i].Time.Add(time.Duration(rng.Intn(180)) * time.Second)
		}
		return byTime(f)
	}
	f := jitter(path(310438000, 0, 30*time.Minute, 20*time.Second, -40.6, 164.3, 17, 327))
	f = append(f, jitter(path(310438000, 13*time.Hour+30*time.Minute, 30*time.Minute, 20*time.Second, -37.4, 161.6, 17, 327))...)
	for _, minInterval := range []float64{2, 10} {
		cfg := DefaultConfig
		cfg.TrackMinIntervalMin = minInterval
		var evs []Event
		e := NewEngine(cfg, nil, nil, nil, func(ev Event) { evs = append(evs, ev) })
		for _, x := range f {
			e.Position(x)
		}
		e.Flush()
		if g := ofKind(evs, KindGap); len(g) != 1 || g[0].Details.Hours < 12.5 {
			t.Errorf("min interval %v min: %d gaps: %v", minInterval, len(g), summary(evs))
		}
	}
}

// A ship following the edge of an STS area, in and out every few minutes
// within 300 m of the boundary for ten hours, enters nothing; a ship
// crossing the area enters and leaves it once each (the issue saw
// 100-250 entries in a 72-hour scenario for a handful of crossings).
func TestZoneHysteresis(t *testing.T) {
	zones, err := geo.ParseZones(strings.NewReader(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"box","kind":"sts_area"},
		"geometry":{"type":"Polygon","coordinates":[[[124,30],[125,30],[125,31],[124,31],[124,30]]]}}]}`), "user")
	if err != nil {
		t.Fatal(err)
	}
	var f []track.Fix
	for i := 0; i < 10*60; i++ {
		lat := 30.0 + 0.0025*float64((i/4)%2*2-1) // +-280 m across the southern edge, switching every 4 minutes
		f = append(f, track.Fix{MMSI: 412000123, Time: t0.Add(time.Duration(i) * time.Minute), Lat: lat, Lon: 124.05 + float64(i)*0.0015, SOG: 8, COG: 90})
	}
	if evs := engineRun(t, zones, f, nil); len(evs) != 0 {
		t.Errorf("boundary follower: %v", summary(evs))
	}
	cross := path(412000124, 0, 12*time.Hour, 2*time.Minute, 29.8, 124.5, 12, 0) // 0.2 deg south to 2.2 deg north
	evs := engineRun(t, zones, cross, nil)
	r := reasons(evs)
	if r["zone_entry"] != 1 || r["zone_exit"] != 1 || len(evs) != 2 {
		t.Fatalf("crossing: %v", summary(evs))
	}
	// The entry is placed at the first fix inside, the exit at the first
	// fix outside.
	if in := evs[0]; in.Lat < 30 || in.Lat > 30.01 || in.Severity != SeverityLow {
		t.Errorf("entry %+v", in)
	}
	if out := evs[1]; out.Lat < 31 || out.Lat > 31.01 || out.Details.HoursInside < 4.9 || out.Details.HoursInside > 5.1 {
		t.Errorf("exit %+v", out)
	}
	if evs[0].Details.FirstHeardInside {
		t.Errorf("a seen crossing marked first heard inside: %+v", evs[0])
	}
	// A ship first heard inside the area: its entry is not seen, and the
	// start of a feed is not ships entering (one marked entry at its first
	// fix, info; the exit as usual).
	inside := path(412000125, 0, 12*time.Hour, 2*time.Minute, 30.5, 124.5, 12, 0)
	evs = engineRun(t, zones, inside, nil)
	if r := reasons(evs); r["zone_entry"] != 1 || r["zone_exit"] != 1 || len(evs) != 2 {
		t.Fatalf("first heard inside: %v", summary(evs))
	}
	if in := evs[0]; !in.Details.FirstHeardInside || in.Severity != SeverityInfo || !in.Start.Equal(inside[0].Time.Std()) ||
		!strings.Contains(in.Summary(), "first heard inside") {
		t.Errorf("first heard inside: %+v %s", in, in.Summary())
	}
}

// Two transmitters on one MMSI alternating their names every few minutes
// make one identity change occurrence that counts the flips, not one per
// report; a real rename later is another.
func TestNameFlipFlopOneEvent(t *testing.T) {
	var s []StaticReport
	for m := 0; m < 3*60; m += 3 {
		name := "ALPHA"
		if (m/3)%2 == 1 {
			name = "BRAVO"
		}
		s = append(s, StaticReport{MMSI: 563000001, Time: t0.Add(time.Duration(m) * time.Minute), Name: name})
	}
	s = append(s, StaticReport{MMSI: 563000001, Time: t0.Add(20 * time.Hour), Name: "CHARLIE"})
	evs := engineRun(t, nil, path(563000001, 0, 21*time.Hour, 10*time.Minute, 1.2, 104, 5, 0), s)
	ch := ofKind(evs, KindIdentityChange)
	if len(ch) != 2 || ch[0].Details.Changes < 50 || ch[1].Details.To != "CHARLIE" || ch[1].Details.Changes != 1 {
		t.Errorf("changes %v %+v", summary(evs), ch)
	}
}

// A run of loitering broken by a short spell under way is one
// occurrence; broken by two hours under way it is two.
func TestRunResumes(t *testing.T) {
	mk := func(spell time.Duration) []track.Fix {
		f := path(412000555, 0, 5*time.Hour, 10*time.Minute, 36.5, 123.5, 1.0, 30)
		f = append(f, path(412000555, 5*time.Hour+10*time.Minute, spell, 10*time.Minute, 36.58, 123.56, 6, 30)...)
		return append(f, path(412000555, 5*time.Hour+20*time.Minute+spell, 5*time.Hour, 10*time.Minute, 36.62, 123.6, 1.0, 30)...)
	}
	if l := ofKind(run(t, mk(10*time.Minute), true), KindLoitering); len(l) != 1 || l[0].Details.Hours < 10 {
		t.Errorf("short spell: %v", summary(l))
	}
	if l := ofKind(run(t, mk(2*time.Hour), true), KindLoitering); len(l) != 2 {
		t.Errorf("long spell: %v", summary(l))
	}
}

// A placeholder MMSI (a MID and six zeros) broadcast by ships far apart
// gives one inconsistency, no conflict.
func TestPlaceholderMMSI(t *testing.T) {
	a := path(273000000, 0, 5*time.Hour, 5*time.Minute, 1.0, 104.0, 10, 0)
	b := path(273000000, time.Minute, 5*time.Hour, 5*time.Minute, -6.0, 106.0, 10, 0)
	r := reasons(engineRun(t, nil, byTime(append(a, b...)), nil))
	if r["inconsistency/placeholder_mmsi"] != 1 || len(r) != 1 {
		t.Errorf("placeholder: %v", r)
	}
	if !placeholderMMSI(1193046) || !placeholderMMSI(0) || !placeholderMMSI(111111111) || placeholderMMSI(412000007) {
		t.Error("placeholderMMSI")
	}
}

// Severities follow the documented rules.
func TestSeverity(t *testing.T) {
	e := NewEngine(DefaultConfig, nil, nil, nil, func(Event) {})
	e.Designated = func(imo, mmsi uint32) (string, string, bool) { return "X", "", mmsi == 352999999 }
	kp := Vessel{MMSI: 445000001, MIDFlag: "KP"}
	pa := Vessel{MMSI: 352000001, MIDFlag: "PA"}
	des := Vessel{MMSI: 352999999, MIDFlag: "PA"}
	for _, c := range []struct {
		ev   Event
		want Severity
	}{
		{Event{Kind: KindPortCall, Vessels: []Vessel{kp}, Details: Details{DPRKPort: true}}, SeverityHigh},
		{Event{Kind: KindPortCall, Vessels: []Vessel{pa}}, SeverityInfo},
		{Event{Kind: KindEncounter, Vessels: []Vessel{pa, kp}, Details: Details{Counterpart: "DPRK"}}, SeverityHigh},
		{Event{Kind: KindEncounter, Vessels: []Vessel{pa, pa}}, SeverityMedium},
		{Event{Kind: KindInconsistency, Vessels: []Vessel{pa}, Details: Details{Reason: "imo_check_digit"}}, SeverityLow},
		{Event{Kind: KindInconsistency, Vessels: []Vessel{pa}, Details: Details{Reason: "dprk_call_sign_on_foreign_mmsi"}}, SeverityHigh},
		{Event{Kind: KindZoneEntry, Vessels: []Vessel{pa}, Details: Details{ZoneKind: "dprk_waters"}}, SeverityHigh},
		{Event{Kind: KindZoneEntry, Vessels: []Vessel{kp}, Details: Details{ZoneKind: "dprk_waters"}}, SeverityInfo},
		{Event{Kind: KindGap, Vessels: []Vessel{pa}, Details: Details{ZoneKind: "sts_area"}}, SeverityHigh},
		{Event{Kind: KindGap, Vessels: []Vessel{pa}, Details: Details{LikelyDeliberate: true}}, SeverityMedium},
		{Event{Kind: KindGap, Vessels: []Vessel{pa}}, SeverityLow},
		{Event{Kind: KindIdentityConflict, Vessels: []Vessel{pa, des}, Details: Details{Reason: "one_imo_two_mmsi"}}, SeverityHigh},
		{Event{Kind: KindIdentityConflict, Vessels: []Vessel{pa, pa}, Details: Details{Reason: "one_imo_two_mmsi"}}, SeverityMedium},
		{Event{Kind: KindIdentityChange, Vessels: []Vessel{pa}, Details: Details{Field: "ship_type", ToFishing: true}}, SeverityMedium},
		{Event{Kind: KindIdentityChange, Vessels: []Vessel{pa}, Details: Details{Field: "destination"}}, SeverityInfo},
		{Event{Kind: KindSpoofing, Vessels: []Vessel{pa}, Details: Details{Reason: "far_jump", Returned: true}}, SeverityMedium},
	} {
		if got := e.severity(&c.ev); got != c.want {
			t.Errorf("%s %+v: %s, want %s", c.ev.Kind, c.ev.Details, got, c.want)
		}
	}
}

// The ID names the occurrence: the same kind, vessels, start and key give
// the same ID whatever the end or details; any of them changed gives
// another.
func TestOccurrenceID(t *testing.T) {
	base := Event{Kind: KindZoneEntry, Vessels: []Vessel{{MMSI: 1, Segment: 0}}, Start: t0.Std(), End: t0.Std(), Details: Details{Zone: "a"}}
	longer := base
	longer.End, longer.Details.HoursInside, longer.Status = t0.Add(time.Hour).Std(), 1, StatusOpen
	if base.OccurrenceID() != longer.OccurrenceID() || len(base.OccurrenceID()) != 16 {
		t.Error("a later version changed the ID")
	}
	for i, other := range []func(e *Event){
		func(e *Event) { e.Kind = KindZoneExit },
		func(e *Event) { e.Vessels = []Vessel{{MMSI: 2}} },
		func(e *Event) { e.Vessels = []Vessel{{MMSI: 1, Segment: 1}} },
		func(e *Event) { e.Start = t0.Add(time.Second).Std() },
		func(e *Event) { e.Details.Zone = "b" },
	} {
		ev := base
		ev.Vessels = append([]Vessel(nil), base.Vessels...)
		other(&ev)
		if ev.OccurrenceID() == base.OccurrenceID() {
			t.Errorf("change %d kept the ID", i)
		}
	}
}

// Summaries say what happened in plain words: names, MMSIs, flags by
// country name, hours, distances with units and positions with
// hemispheres.
func TestSummary(t *testing.T) {
	stsStart := time.Date(2026, 3, 1, 7, 6, 0, 0, time.UTC)
	for _, c := range []struct {
		ev   Event
		want string
	}{
		{Event{Kind: KindEncounter, Vessels: []Vessel{{MMSI: 445000101, Name: "SIM YU SAN", IMO: 8900103, MIDFlag: "KP"}, {MMSI: 667000202, Name: "SIM OCEAN STAR", MIDFlag: "SL"}},
			Start: stsStart, End: stsStart.Add(5 * time.Hour), Lat: 38.206, Lon: 124.0071,
			Details: Details{Hours: 5, MinDistanceM: 81, MedianSpeedKn: 0.2, ShoreNM: 32, Windows: 1, Counterpart: "MMSI 445000101 is DPRK-registered (MID 445)"}},
			"SIM YU SAN (IMO 8900103, MMSI 445000101, North Korea) and SIM OCEAN STAR (MMSI 667000202, Sierra Leone) were within 81 m of each other for 5.0 hours at 38.206°N 124.007°E, median speed 0.2 kn, 32 nm offshore, from 2026-03-01 07:06 to 12:06 UTC. MMSI 445000101 is DPRK-registered (MID 445)."},
		{Event{Kind: KindGap, Vessels: []Vessel{{MMSI: 310438000, Name: "SUN PRINCESS", MIDFlag: "BM"}}, Start: stsStart, End: stsStart.Add(13 * time.Hour),
			Details: Details{Hours: 13, StartPosition: LatLon{-40.594, 164.276}, EndPosition: LatLon{-37.375, 161.623}, DistanceKM: 425.1, ImpliedSpeedKn: 17.6, StartShoreNM: 278.7}},
			"SUN PRINCESS (MMSI 310438000, Bermuda) sent no position for 13.0 hours, from 2026-03-01 07:06 to 20:06 UTC; last heard at 40.594°S 164.276°E, 279 nm offshore; heard again at 37.375°S 161.623°E, 425 km away (17.6 kn implied)."},
		{Event{Kind: KindPortCall, Vessels: []Vessel{{MMSI: 445000101, Name: "SIM YU SAN", MIDFlag: "KP"}}, Start: stsStart, End: stsStart.Add(30 * time.Hour),
			Details: Details{Port: "Nampo", Country: "North Korea", Hours: 30, DPRKPort: true}},
			"SIM YU SAN (MMSI 445000101, North Korea) called at Nampo (North Korea) for 30.0 hours, from 2026-03-01 07:06 to 2026-03-02 13:06 UTC; a port of the DPRK."},
		{Event{Kind: KindInconsistency, Vessels: []Vessel{{MMSI: 564310000, Name: "OCEAN PHOENIX", MIDFlag: "SG"}}, Start: stsStart, End: stsStart,
			Details: Details{Reason: "imo_check_digit", IMO: 9174638}},
			"OCEAN PHOENIX (MMSI 564310000, Singapore) broadcasts IMO 9174638, which fails the IMO check digit: a data-quality finding, usually a mistyped number."},
		{Event{Kind: KindSpoofing, Status: StatusOpen, Vessels: []Vessel{{MMSI: 636000777, MIDFlag: "LR"}, {MMSI: 636000777, Segment: 1, MIDFlag: "LR"}}, Start: stsStart, End: stsStart.Add(5 * time.Hour),
			Details: Details{Reason: "far_jump", DistanceKM: 356.4, ImpliedSpeedKn: 3800, Hours: 5, Returned: true, Positions: []LatLon{{33.5, 124}, {36.2, 124.8}}}},
			"Ongoing: The position of an unnamed ship (MMSI 636000777, Liberia, track 0) jumped 356 km, from 33.500°N 124.000°E to 36.200°N 124.800°E (3800 kn implied), 2026-03-01 07:06 UTC, and stayed there 5.0 hours, then came back: a falsified position, not a voyage."},
	} {
		if got := c.ev.Summary(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.ev.Kind, got, c.want)
		}
	}
	// Every kind and reason the detectors emit has words of its own.
	for _, k := range []string{KindGap, KindEncounter, KindLoitering, KindPortCall, KindZoneEntry, KindZoneExit, KindIdentityChange, KindDraughtChange} {
		if s := (&Event{Kind: k, Vessels: []Vessel{{MMSI: 1}}}).Summary(); strings.Contains(s, k) {
			t.Errorf("%s: %s", k, s)
		}
	}
	for r, k := range map[string]string{"one_imo_two_mmsi": KindIdentityConflict, "one_mmsi_two_positions": KindIdentityConflict, "designated_identity": KindIdentityConflict,
		"far_jump": KindSpoofing, "position_on_land": KindSpoofing, "frozen_position_while_moving": KindSpoofing,
		"imo_check_digit": KindInconsistency, "dprk_call_sign_on_foreign_mmsi": KindInconsistency, "call_sign_country_differs_from_mid": KindInconsistency,
		"mid_not_allocated": KindInconsistency, "class_b_on_large_ship": KindInconsistency, "placeholder_mmsi": KindInconsistency, "position_outlier": KindInconsistency} {
		s := (&Event{Kind: k, Vessels: []Vessel{{MMSI: 1}, {MMSI: 1, Segment: 1}}, Details: Details{Reason: r}}).Summary()
		if strings.Contains(s, r) {
			t.Errorf("%s/%s: %s", k, r, s)
		}
	}
}

// MaxVessels bounds the engine's vessels: a ship heard, then silent
// while 500 other MMSIs come and go, then heard again 12 hours later is a
// gap under a cap it never reaches, and a new vessel (no gap) once it
// was evicted as the idlest; the engine's count stays under the cap and
// the evictions are counted and told to Forget.
func TestEngineMaxVessels(t *testing.T) {
	var f []track.Fix
	f = append(f, path(412000001, 0, 30*time.Minute, 10*time.Minute, 30.0, 124.0, 10, 0)...)
	for i := 0; i < 500; i++ {
		f = append(f, track.Fix{MMSI: uint32(413000000 + i), Time: t0.Add(time.Hour + time.Duration(i)*time.Minute), Lat: 31 + float64(i%50)*0.1, Lon: 125, SOG: 10, COG: 0})
	}
	f = append(f, path(412000001, 12*time.Hour, 30*time.Minute, 10*time.Minute, 30.5, 124.0, 10, 0)...)
	for _, c := range []struct {
		cap     int
		gaps    int
		evicted bool
	}{{10000, 1, false}, {100, 0, true}} {
		cfg := DefaultConfig
		cfg.MaxVessels = c.cap
		var evs []Event
		e := NewEngine(cfg, nil, nil, nil, func(ev Event) { evs = append(evs, ev) })
		forgot := map[uint32]bool{}
		e.Forget = func(m uint32) { forgot[m] = true }
		most := 0
		for _, x := range f {
			e.Position(x)
			most = max(most, e.TrackedVessels())
		}
		e.Flush()
		if g := ofKind(evs, KindGap); len(g) != c.gaps {
			t.Errorf("cap %d: %d gaps: %v", c.cap, len(g), summary(evs))
		}
		if most > c.cap || int64(len(forgot)) != e.Evictions() || forgot[412000001] != c.evicted {
			t.Errorf("cap %d: at most %d tracked, %d evictions, %d forgotten, ship forgotten %v", c.cap, most, e.Evictions(), len(forgot), forgot[412000001])
		}
	}
}
