package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// portCallNMEA is a clean Liberian tanker (IMO 9876543, MMSI 636019876)
// arriving at Nampo and lying there from start for hours: a DPRK port
// call, in real NMEA with tag-block times.
func portCallNMEA(start time.Time, hours int) []string {
	var lines []string
	sea, port := [2]float64{38.45, 124.95}, [2]float64{38.712, 125.372}
	group := 0
	for m := 0; m < hours*60; m += 2 {
		t := start.Add(time.Duration(m) * time.Minute)
		f := min(1, float64(m)/120) // two hours sailing in, then at anchor
		lat, lon := sea[0]+(port[0]-sea[0])*f, sea[1]+(port[1]-sea[1])*f
		speed, status := uint16(100), uint8(0)
		if f >= 1 {
			speed, status = 0, 1
		}
		rlat, rlon := ais.RawLatLon(lat, lon)
		pm := ais.Message{MMSI: 636019876, Status: status, SpeedRaw: speed, LatRaw: rlat, LonRaw: rlon, Course: 600, Heading: 60, Second: uint8(t.Second())}
		pl, fill := ais.EncodePosition(&pm)
		lines = append(lines, ais.Sentences(pl, fill, t.Unix(), "test", 0, 0, 'A')...)
		if m%6 == 0 {
			group++
			sm := ais.Message{MMSI: 636019876, IMO: 9876543, CallSign: "A8ZZ9", ShipName: "TEST CALLER", ShipType: 80, ToBow: 90, ToStern: 20, ToPort: 8, ToStarboard: 8,
				Draught: 90, Destination: "NAMPO", ETAMonth: uint8(start.Month()), ETADay: uint8(start.Day()), ETAHour: 12}
			pl, fill := ais.EncodeStatic(&sm)
			lines = append(lines, ais.Sentences(pl, fill, t.Add(time.Second).Unix(), "test", group, group, 'B')...)
		}
	}
	return lines
}

// TestEventsMoveTheFleetBand: new events on a portfolio vessel compute
// its status again (the fleet table's band), and the band's change raises
// exactly one band_changed alert; another pass raises none.
func TestEventsMoveTheFleetBand(t *testing.T) {
	s, _ := seeded(t)
	if _, err := s.CreatePortfolio(ctx, local, "fleet", ""); err != nil {
		t.Fatal(err)
	}
	if res, err := s.AddVessels(ctx, local, "fleet", []app.VesselEntry{{ID: "caller", IMO: "9876543", MMSI: "636019876", Name: "TEST CALLER"}}, nil); err != nil || res.Added != 1 {
		t.Fatalf("add: %+v %v", res, err)
	}
	fleet, err := s.Fleet(ctx, local, "fleet")
	if err != nil || len(fleet) != 1 || fleet[0].Status == nil {
		t.Fatalf("fleet: %+v %v", fleet, err)
	}
	before := fleet[0].Status.Recommendation
	path := filepath.Join(t.TempDir(), "call.nmea")
	if err := os.WriteFile(path, []byte(strings.Join(portCallNMEA(now.Add(-48*time.Hour), 14), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestFile(s, path); err != nil {
		t.Fatal(err)
	}
	events, _ := s.Alerts(ctx, local, store.AlertFilter{Kinds: []string{app.AlertEvent}})
	var call bool
	for _, a := range events {
		call = call || (a.VesselRef == "caller" && strings.Contains(a.Title, "DPRK port call"))
	}
	if !call {
		t.Fatalf("no DPRK port call alert: %+v", events)
	}
	fleet, _ = s.Fleet(ctx, local, "fleet")
	after := fleet[0].Status.Recommendation
	if after == before {
		t.Fatalf("the band stayed %s after a DPRK port call", after)
	}
	bands, _ := s.Alerts(ctx, local, store.AlertFilter{Kinds: []string{app.AlertBandChanged}})
	if len(bands) != 1 || bands[0].VesselRef != "caller" || !strings.Contains(bands[0].Title, strings.ReplaceAll(after, "_", " ")) {
		t.Fatalf("band alerts after %s -> %s: %+v", before, after, bands)
	}
	// The text is words: no enum names (insufficient_evidence).
	for _, text := range append([]string{bands[0].Why}, func() (ts []string) {
		for _, e := range bands[0].Evidence {
			if e.Kind == "profile" {
				ts = append(ts, e.Text)
			}
		}
		return
	}()...) {
		for _, r := range []string{"insufficient_evidence", before, after} {
			if strings.Contains(r, "_") && strings.Contains(text, r) {
				t.Errorf("the alert shows the code %s: %q", r, text)
			}
		}
	}
	var linked bool
	for _, e := range bands[0].Evidence {
		linked = linked || e.Kind == "event"
	}
	if !linked {
		t.Errorf("the band alert does not link the events: %+v", bands[0].Evidence)
	}
	if m, err := s.ScreenNewEvents(ctx); err != nil || m.Alerts != 0 {
		t.Errorf("second pass: %+v %v", m, err)
	}
	if bands, _ := s.Alerts(ctx, local, store.AlertFilter{Kinds: []string{app.AlertBandChanged}}); len(bands) != 1 {
		t.Errorf("%d band alerts after a second pass", len(bands))
	}
}
