package detect

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

var t0 = track.TimeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))

// path makes a ship report every step from start for the given duration,
// moving from (lat, lon) at speed kn on course cog (degrees).
func path(mmsi uint32, start time.Duration, dur, step time.Duration, lat, lon, kn, cog float64) []track.Fix {
	var out []track.Fix
	for t := time.Duration(0); t <= dur; t += step {
		h := t.Hours()
		dNM := kn * h
		la := lat + dNM/60*math.Cos(cog*math.Pi/180)
		lo := lon + dNM/60*math.Sin(cog*math.Pi/180)/math.Cos(lat*math.Pi/180)
		out = append(out, track.Fix{MMSI: mmsi, Time: t0.Add(start + t), Lat: la, Lon: lo, SOG: kn, COG: cog})
	}
	return out
}

func run(t *testing.T, fixes []track.Fix, withGeo bool) []Event {
	t.Helper()
	var land *geo.Land
	var ports *geo.Ports
	var zones []*geo.Zone
	if withGeo {
		var err error
		if land, err = geo.LoadLand(); err != nil {
			t.Fatal(err)
		}
		if ports, err = geo.LoadPorts(); err != nil {
			t.Fatal(err)
		}
		if zones, err = geo.BuiltinZones(); err != nil {
			t.Fatal(err)
		}
	}
	var evs []Event
	e := NewEngine(DefaultConfig, land, ports, zones, func(ev Event) { evs = append(evs, ev) })
	for _, f := range fixes {
		e.Position(f)
	}
	e.Flush()
	SortEvents(evs)
	return evs
}

func ofKind(evs []Event, kind string) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func byTime(f []track.Fix) []track.Fix {
	sort.SliceStable(f, func(i, j int) bool { return f[i].Time.Before(f[j].Time) })
	return f
}

// A DPRK tanker and a foreign tanker drift together for three hours in
// the Korea Bay, 32 nm offshore, on either side of a grid-cell boundary:
// one encounter.
func TestEncounterAcrossCells(t *testing.T) {
	// 38.2 is a cell boundary (0.05-degree cells from -90): one ship just
	// south of it, one just north, 150 m apart.
	a := path(445000001, 0, 3*time.Hour, 2*time.Minute, 38.2-0.0006, 124.0, 0.3, 90)
	b := path(352000002, time.Minute, 3*time.Hour, 2*time.Minute, 38.2+0.0007, 124.0, 0.3, 90)
	evs := run(t, byTime(append(a, b...)), true)
	enc := ofKind(evs, KindEncounter)
	if len(enc) != 1 {
		t.Fatalf("%d encounters: %+v", len(enc), evs)
	}
	e := enc[0]
	if e.Vessels[0].MMSI != 352000002 || e.Vessels[1].MMSI != 445000001 || e.Details.Hours < 2.9 || e.Details.MedianSpeedKn > 0.5 {
		t.Errorf("encounter %+v", e)
	}
	// The pair also entered the Korea Bay STS area.
	if z := ofKind(evs, KindZoneEntry); len(z) != 2 || z[0].Details.Zone != "sts-korea-bay-nampo-chodo" {
		t.Errorf("zone entries %+v", z)
	}
}

// Look-alikes that must not fire: ships passing close at speed, ships
// anchored together in port.
func TestEncounterLookAlikes(t *testing.T) {
	// Head-on pass at 12 knots, 200 m apart at the closest.
	a := path(1, 0, 2*time.Hour, time.Minute, 38.2, 123.8, 12, 90)
	b := path(2, 0, 2*time.Hour, time.Minute, 38.2018, 124.35, 12, 270)
	if enc := ofKind(run(t, byTime(append(a, b...)), true), KindEncounter); len(enc) != 0 {
		t.Errorf("passing ships made %d encounters", len(enc))
	}
	// Two ships moored side by side at Nampo for five hours.
	c := path(3, 0, 5*time.Hour, 3*time.Minute, 38.71, 125.37, 0, 0)
	d := path(4, 0, 5*time.Hour, 3*time.Minute, 38.7105, 125.3705, 0, 0)
	evs := run(t, byTime(append(c, d...)), true)
	if enc := ofKind(evs, KindEncounter); len(enc) != 0 {
		t.Errorf("ships in port made %d encounters", len(enc))
	}
	calls := ofKind(evs, KindPortCall)
	if len(calls) != 2 || calls[0].Details.Port != "Nampo" || !calls[0].Details.DPRKPort {
		t.Errorf("port calls %+v", calls)
	}
	// Close for only an hour: no encounter.
	e1 := path(5, 0, time.Hour, 2*time.Minute, 38.2, 124.0, 0.2, 0)
	e2 := path(6, 0, time.Hour, 2*time.Minute, 38.2005, 124.0, 0.2, 0)
	if enc := ofKind(run(t, byTime(append(e1, e2...)), true), KindEncounter); len(enc) != 0 {
		t.Errorf("one-hour meeting made %d encounters", len(enc))
	}
}

// Two windows 3 hours apart merge into one encounter; 6 hours apart they
// are two.
func TestEncounterMerge(t *testing.T) {
	mk := func(gap time.Duration) []track.Fix {
		var f []track.Fix
		f = append(f, path(10, 0, 2*time.Hour+10*time.Minute, 5*time.Minute, 38.2, 124.0, 0.1, 0)...)
		f = append(f, path(11, 0, 2*time.Hour+10*time.Minute, 5*time.Minute, 38.2004, 124.0, 0.1, 0)...)
		s := 2*time.Hour + 10*time.Minute + gap
		f = append(f, path(10, s, 2*time.Hour+10*time.Minute, 5*time.Minute, 38.21, 124.0, 0.1, 0)...)
		f = append(f, path(11, s, 2*time.Hour+10*time.Minute, 5*time.Minute, 38.2104, 124.0, 0.1, 0)...)
		return byTime(f)
	}
	if enc := ofKind(run(t, mk(3*time.Hour), true), KindEncounter); len(enc) != 1 || enc[0].Details.Windows != 2 {
		t.Errorf("3 h apart: %+v", enc)
	}
	if enc := ofKind(run(t, mk(6*time.Hour), true), KindEncounter); len(enc) != 2 {
		t.Errorf("6 h apart: %d encounters", len(enc))
	}
}

// A 13-hour silence 53 nm offshore while another ship keeps reporting
// nearby: one gap, likely deliberate, reception continued. A 3-hour
// silence is no gap.
func TestGap(t *testing.T) {
	var f []track.Fix
	f = append(f, path(7, 0, time.Hour, 10*time.Minute, 36.5, 123.5, 0.5, 0)...)
	f = append(f, path(7, 14*time.Hour, time.Hour, 10*time.Minute, 36.52, 123.5, 0.5, 0)...)
	f = append(f, path(8, 0, 16*time.Hour, 30*time.Minute, 36.3, 123.2, 5, 45)...) // the witness
	f = append(f, path(9, 0, time.Hour, 10*time.Minute, 36.0, 123.0, 8, 0)...)
	f = append(f, path(9, 4*time.Hour, time.Hour, 10*time.Minute, 36.5, 123.0, 8, 0)...)
	evs := ofKind(run(t, byTime(f), true), KindGap)
	if len(evs) != 1 {
		t.Fatalf("%d gaps: %+v", len(evs), evs)
	}
	g := evs[0]
	if g.Vessels[0].MMSI != 7 || !g.Details.LikelyDeliberate || g.Details.ReceptionContinued == nil || !*g.Details.ReceptionContinued || g.Details.Hours != 13 {
		t.Errorf("gap %+v", g)
	}
}

func TestLoitering(t *testing.T) {
	f := path(12, 0, 5*time.Hour, 10*time.Minute, 36.5, 123.5, 1.0, 30)
	evs := ofKind(run(t, f, true), KindLoitering)
	if len(evs) != 1 || evs[0].Details.Hours != 5 {
		t.Errorf("loitering %+v", evs)
	}
	// Near the coast (the Skagen anchorage): not loitering.
	g := path(13, 0, 5*time.Hour, 10*time.Minute, 57.75, 10.7, 0.5, 30)
	if evs := ofKind(run(t, g, true), KindLoitering); len(evs) != 0 {
		t.Errorf("anchorage loitering %+v", evs)
	}
}

// Out-of-order and duplicated fixes (satellite AIS) give the same events
// as the clean stream, and create no false gaps.
func TestOrderAndDuplicatesDoNotMatter(t *testing.T) {
	var f []track.Fix
	f = append(f, path(445000001, 0, 3*time.Hour, 2*time.Minute, 38.2, 124.0, 0.3, 90)...)
	f = append(f, path(352000002, time.Minute, 3*time.Hour, 2*time.Minute, 38.2008, 124.0, 0.3, 90)...)
	f = append(f, path(12, 0, 5*time.Hour, 10*time.Minute, 36.5, 123.5, 1.0, 30)...)
	clean := run(t, byTime(append([]track.Fix(nil), f...)), true)
	rng := rand.New(rand.NewSource(3))
	for k := 0; k < 3; k++ {
		messy := append([]track.Fix(nil), f...)
		// Duplicate a tenth, then shuffle within windows of 90 minutes of
		// event time (less than the reorder lateness).
		for i := 0; i < len(f)/10; i++ {
			messy = append(messy, f[rng.Intn(len(f))])
		}
		byTime(messy)
		for i := range messy {
			j := i + rng.Intn(20)
			if j < len(messy) && messy[j].Time.Sub(messy[i].Time) < 90*time.Minute {
				messy[i], messy[j] = messy[j], messy[i]
			}
		}
		got := run(t, messy, true)
		if fmt.Sprint(got) != fmt.Sprint(clean) {
			t.Fatalf("shuffle %d:\n%v\nvs\n%v", k, summary(got), summary(clean))
		}
	}
	if g := ofKind(clean, KindGap); len(g) != 0 {
		t.Errorf("false gaps %+v", g)
	}
}

func summary(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %v %s-%s\n", e.Kind, e.Vessels, e.Start.Format("15:04"), e.End.Format("15:04"))
	}
	return b.String()
}

// A ship at sea whose track goes on 100 km inland is spoofed, once for
// the inland run; a ship that only ever appears "on land" (a lake Natural
// Earth draws as land) is not; one far position inland is a jump of its
// own (an outlier), not this.
func TestSpoofingOnLand(t *testing.T) {
	var f []track.Fix
	// At sea off Nampo, then silent 5 hours, then three fixes 100 km
	// inland (reachable in 5 hours at 30 kn, so the same track).
	f = append(f, path(445000020, 0, time.Hour, 10*time.Minute, 38.6, 124.9, 8, 0)...)
	f = append(f, path(445000020, 6*time.Hour, 20*time.Minute, 10*time.Minute, 39.3, 125.8, 0, 0)...)
	f = append(f, path(412000021, 0, time.Hour, 10*time.Minute, 42.2, -81.0, 8, 90)...) // Lake Erie
	evs := ofKind(run(t, byTime(f), true), KindSpoofing)
	if len(evs) != 1 || evs[0].Vessels[0].MMSI != 445000020 || evs[0].Details.Reason != "position_on_land" || evs[0].Details.Fixes != 3 {
		t.Errorf("spoofing %v", summary(evs))
	}
	var g []track.Fix
	g = append(g, path(445000022, 0, time.Hour, 10*time.Minute, 38.2, 124.0, 8, 0)...)
	g = append(g, track.Fix{MMSI: 445000022, Time: t0.Add(70 * time.Minute), Lat: 40.3, Lon: 127.0, SOG: 8})
	evs = run(t, byTime(g), true)
	if s := ofKind(evs, KindSpoofing); len(s) != 0 {
		t.Errorf("one far position inland: %v", summary(evs))
	}
	if o := ofKind(evs, KindInconsistency); len(o) != 1 || o[0].Details.Reason != "position_outlier" || o[0].Details.InlandKM < 30 {
		t.Errorf("outlier: %v", summary(evs))
	}
}

// A crowded anchorage: thirty ships moored within a few hundred metres of
// each other at Nampo for six hours. No encounter, and no closeness is even
// recorded: close fixes near a port do not count, which keeps dense
// harbours from costing a pair for every neighbour at every fix. At sea
// the same crowd is recorded (the rule is about ports, not crowds).
func TestCrowdedAnchorageRecordsNoPairs(t *testing.T) {
	land, _ := geo.LoadLand()
	ports, err := geo.LoadPorts()
	if err != nil {
		t.Fatal(err)
	}
	crowd := func(lat, lon float64) []track.Fix {
		var fixes []track.Fix
		for i := 0; i < 30; i++ {
			fixes = append(fixes, path(uint32(100+i), 0, 6*time.Hour, 3*time.Minute, lat+float64(i%6)*0.0008, lon+float64(i/6)*0.0008, 0, 0)...)
		}
		return byTime(fixes)
	}
	for _, c := range []struct {
		name     string
		lat, lon float64
		inPort   bool
	}{{"Nampo", 38.71, 125.37, true}, {"Korea Bay, 30 nm out", 38.2, 124.0, false}} {
		var evs []Event
		e := NewEngine(DefaultConfig, land, ports, nil, func(ev Event) { evs = append(evs, ev) })
		for _, f := range crowd(c.lat, c.lon) {
			e.Position(f)
		}
		pairs := len(e.pairs)
		e.Flush()
		enc := ofKind(evs, KindEncounter)
		switch {
		case c.inPort && (pairs != 0 || len(enc) != 0):
			t.Errorf("%s: %d pairs recorded, %d encounters", c.name, pairs, len(enc))
		case !c.inPort && (pairs < 100 || len(enc) == 0):
			t.Errorf("%s: only %d pairs, %d encounters", c.name, pairs, len(enc))
		}
	}
}

// More zones than the zone index covers (64): a ship crossing 70 boxes in
// a row enters and leaves every one, once, whichever path answers for it.
func TestManyZones(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; i < 70; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		lon := 120 + float64(i)*0.1
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"id":"box%d"},"geometry":{"type":"Polygon","coordinates":[[[%v,30],[%v,30],[%v,31],[%v,31],[%v,30]]]}}`,
			i, lon+0.02, lon+0.08, lon+0.08, lon+0.02, lon+0.02)
	}
	b.WriteString(`]}`)
	zones, err := geo.ParseZones(strings.NewReader(b.String()), "user")
	if err != nil || len(zones) != 70 {
		t.Fatal(len(zones), err)
	}
	var evs []Event
	e := NewEngine(DefaultConfig, nil, nil, zones, func(ev Event) { evs = append(evs, ev) })
	// East along 30.5 N at 12 kn from 119.9 E, a fix a minute, past 127 E.
	for _, f := range path(9, 0, 36*time.Hour, time.Minute, 30.5, 119.9, 12, 90) {
		e.Position(f)
	}
	e.Flush()
	entries, exits := map[string]int{}, map[string]int{}
	for _, ev := range evs {
		switch ev.Kind {
		case KindZoneEntry:
			entries[ev.Details.Zone]++
		case KindZoneExit:
			exits[ev.Details.Zone]++
		}
	}
	for i := 0; i < 70; i++ {
		id := fmt.Sprintf("box%d", i)
		if entries[id] != 1 || exits[id] != 1 {
			t.Errorf("%s: %d entries, %d exits", id, entries[id], exits[id])
		}
	}
}
