package main

import (
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

// TestEventSummary: an events line says what matters of each kind: the
// zone, the port, how long, and (printed beside it) open or closed.
func TestEventSummary(t *testing.T) {
	for _, c := range []struct {
		ev   detect.Event
		want string
	}{
		{detect.Event{Kind: detect.KindZoneEntry, Details: detect.Details{Zone: "sts-east-china-sea", ZoneName: "East China Sea"}},
			"zone sts-east-china-sea (East China Sea)"},
		{detect.Event{Kind: detect.KindZoneExit, Details: detect.Details{Zone: "sts-east-china-sea", ZoneName: "East China Sea", HoursInside: 12.38}},
			"12.4 h inside, zone sts-east-china-sea (East China Sea)"},
		{detect.Event{Kind: detect.KindPortCall, Details: detect.Details{Port: "Nampo", LOCODE: "KP NAM", DPRKPort: true, Country: "North Korea", Hours: 71.98}},
			"port Nampo (KP NAM, DPRK), 72.0 h"},
		{detect.Event{Kind: detect.KindGap, Details: detect.Details{Hours: 12.96, DistanceKM: 413.14, LikelyDeliberate: true}},
			"13.0 h dark, 413 km, likely deliberate"},
		{detect.Event{Kind: detect.KindEncounter, Details: detect.Details{Hours: 4.98, Zone: "sts-korea-bay-nampo-chodo"}},
			"5.0 h, zone sts-korea-bay-nampo-chodo"},
		{detect.Event{Kind: detect.KindIdentityChange, Details: detect.Details{Field: "name", From: "A", To: "B"}}, `name "A" to "B"`},
		{detect.Event{Kind: "identity_conflict", Details: detect.Details{Reason: "one_imo_two_mmsi"}}, "one_imo_two_mmsi"},
	} {
		if got := eventSummary(c.ev); got != c.want {
			t.Errorf("%s: %q, want %q", c.ev.Kind, got, c.want)
		}
	}
}

// TestEventsLines: the lines of 'tidewatch events' carry the status and
// the summary (a store with one open zone exit).
func TestEventsLines(t *testing.T) {
	ev := detect.Event{ID: "x", Kind: detect.KindZoneExit, Status: detect.StatusOpen, Vessels: []detect.Vessel{{MMSI: 412000217, Name: "TRADER"}},
		Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 1, 12, 23, 0, 0, time.UTC),
		Details: detect.Details{Zone: "sts-east-china-sea", ZoneName: "East China Sea", HoursInside: 12.38}}
	line := eventLine(ev)
	for _, want := range []string{"zone_exit", " open ", "412000217 TRADER", "12.4 h inside, zone sts-east-china-sea (East China Sea)"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
}
