package detect

import (
	"sort"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/track"
)

func runWithStatic(t *testing.T, fixes []track.Fix, statics []StaticReport) []Event {
	t.Helper()
	var evs []Event
	e := NewEngine(DefaultConfig, nil, nil, nil, func(ev Event) { evs = append(evs, ev) })
	for _, s := range statics {
		e.Static(s)
	}
	for _, f := range fixes {
		e.Position(f)
	}
	e.Flush()
	SortEvents(evs)
	return evs
}

func TestIdentityChanges(t *testing.T) {
	at := func(h float64) track.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	fixes := path(445000001, 0, 10*time.Hour, 30*time.Minute, 38.2, 124.0, 5, 0)
	statics := []StaticReport{
		{MMSI: 445000001, Time: at(0.1), IMO: 8660313, Name: "CHON MA SAN", CallSign: "HMYX", ShipType: 80, Draught: 4.0},
		{MMSI: 445000001, Time: at(3), IMO: 8660313, Name: "XIN YUAN 18", CallSign: "HMYX", ShipType: 30, Draught: 4.0},
		{MMSI: 445000001, Time: at(6), IMO: 8660313, Name: "XIN YUAN 18", CallSign: "HMYX", ShipType: 30, Draught: 6.5},
	}
	evs := runWithStatic(t, fixes, statics)
	var fields []string
	draught := 0
	for _, e := range evs {
		switch e.Kind {
		case KindIdentityChange:
			fields = append(fields, e.Details.Field)
			if e.Details.Field == "ship_type" && !e.Details.ToFishing {
				t.Errorf("to fishing not flagged: %v", e.Details)
			}
		case KindDraughtChange:
			draught++
			if e.Details.ChangeM != 2.5 {
				t.Errorf("draught %v", e.Details)
			}
		}
	}
	sort.Strings(fields)
	if len(fields) != 2 || fields[0] != "name" || fields[1] != "ship_type" || draught != 1 {
		t.Errorf("changes %v, draught %d: %v", fields, draught, summary(evs))
	}
}

func TestIdentityConflicts(t *testing.T) {
	// One MMSI at two places 300 km apart at once.
	a := path(445000002, 0, time.Hour, 5*time.Minute, 38.2, 124.0, 5, 0)
	b := path(445000002, 2*time.Minute, time.Hour, 5*time.Minute, 31.0, 124.0, 5, 0)
	// One IMO under two MMSIs at once, and a bad IMO check digit.
	c := path(352000003, 0, time.Hour, 5*time.Minute, 30.0, 124.0, 10, 0)
	d := path(667000004, 0, time.Hour, 5*time.Minute, 20.0, 107.0, 10, 0)
	fixes := byTime(append(append(append(a, b...), c...), d...))
	statics := []StaticReport{
		{MMSI: 352000003, Time: t0.Add(10 * time.Minute), IMO: 9417115, Name: "KOTI"},
		{MMSI: 667000004, Time: t0.Add(12 * time.Minute), IMO: 9417115, Name: "KOTI"},
		{MMSI: 352000003, Time: t0.Add(20 * time.Minute), IMO: 9417116, Name: "KOTI"},
		// A DPRK call sign on a Sierra Leone MMSI.
		{MMSI: 667000004, Time: t0.Add(30 * time.Minute), CallSign: "HMYX"},
	}
	evs := runWithStatic(t, fixes, statics)
	reasons := map[string]int{}
	for _, e := range evs {
		if r := e.Details.Reason; r != "" {
			reasons[e.Kind+"/"+r]++
		}
	}
	for _, want := range []string{"identity_conflict/one_mmsi_two_positions", "identity_conflict/one_imo_two_mmsi", "inconsistency/imo_check_digit", "inconsistency/dprk_call_sign_on_foreign_mmsi"} {
		if reasons[want] != 1 {
			t.Errorf("%s: %d (all: %v)", want, reasons[want], reasons)
		}
	}
}

func TestSpoofing(t *testing.T) {
	// Frozen position while reporting 12 knots.
	var f []track.Fix
	for i := 0; i < 15; i++ {
		f = append(f, track.Fix{MMSI: 412345679, Time: t0.Add(time.Duration(i) * time.Minute), Lat: 30.5, Lon: 124.5, SOG: 12})
	}
	evs := runWithStatic(t, f, nil)
	if len(evs) != 1 || evs[0].Kind != KindSpoofing || evs[0].Details.Reason != "frozen_position_while_moving" {
		t.Errorf("frozen: %v", summary(evs))
	}
}

func TestDesignatedIdentity(t *testing.T) {
	var evs []Event
	e := NewEngine(DefaultConfig, nil, nil, nil, func(ev Event) { evs = append(evs, ev) })
	e.Designated = func(imo, mmsi uint32) (string, string, bool) {
		if imo == 8606173 {
			return "RYONG GUN BONG [ofac:17104]", "KP", true
		}
		return "", "", false
	}
	for _, f := range path(352000999, 0, time.Hour, 10*time.Minute, 30, 124, 10, 0) {
		e.Position(f)
	}
	e.Static(StaticReport{MMSI: 352000999, Time: t0.Add(5 * time.Minute), IMO: 8606173, Name: "SOMETHING ELSE"})
	e.Static(StaticReport{MMSI: 352000999, Time: t0.Add(25 * time.Minute), IMO: 8606173, Name: "SOMETHING ELSE"})
	e.Flush()
	n := 0
	for _, ev := range evs {
		if ev.Details.Reason == "designated_identity" {
			n++
			if ev.Details.ListedFlag != "KP" || ev.Details.MIDFlag != "PA" || !ev.Details.FlagDiffers {
				t.Errorf("flags %v", ev.Details)
			}
		}
	}
	if n != 1 {
		t.Errorf("designated identity reported %d times: %v", n, summary(evs))
	}
}

// One position far off an established track, never repeated, is a
// position outlier (a data error far more often than spoofing), not
// spoofing; a second ship that keeps reporting is a conflict
// (TestIdentityConflicts).
func TestOneOffJumpIsOutlier(t *testing.T) {
	f := path(445000077, 0, 2*time.Hour, 5*time.Minute, 38.2, 124.0, 8, 0)
	f = append(f, track.Fix{MMSI: 445000077, Time: t0.Add(62 * time.Minute), Lat: 33.0, Lon: 124.0, SOG: 8})
	evs := runWithStatic(t, byTime(f), nil)
	if len(evs) != 1 || evs[0].Kind != KindInconsistency || evs[0].Details.Reason != "position_outlier" || evs[0].Severity != SeverityInfo {
		t.Errorf("events %v", summary(evs))
	}
}
