package report

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
)

// viaJSON is an event as the store gives it back: every number a float64.
func viaJSON(t *testing.T, e detect.Event) detect.Event {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var out detect.Event
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// badWords are what the issue found on the page: scientific notation, a
// negative latitude with N, the raw map, printf errors, "1 gaps".
var badWords = regexp.MustCompile(`\de[+-]\d|-\d+(\.\d+)?°|map\[|%!|\b1 (gaps|hours|events|positions|reports|times)\b|<nil>`)

func TestEventWordsHuman(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 7, 6, 0, 0, time.UTC)
	v := detect.Vessel{MMSI: 667000202, IMO: 9300207, Name: "SIM OCEAN STAR", MIDFlag: "SL"}
	cp := detect.Vessel{MMSI: 445000101, Name: "SIM YU SAN", MIDFlag: "KP"}
	cases := []struct {
		e    detect.Event
		want []string
	}{
		{detect.Event{Kind: detect.KindEncounter, Vessels: []detect.Vessel{cp, v}, Start: t0, End: t0.Add(299 * time.Minute),
			Details: detailsOf(map[string]any{"hours": 4.98, "median_speed_kn": 0.2, "min_distance_m": 80.0, "close_fixes": 567, "windows": 1, "shore_nm": 31.52})},
			[]string{"Encounter at sea between MMSI 445000101 SIM YU SAN (North Korea MMSI) and MMSI 667000202 SIM OCEAN STAR (IMO 9300207, Sierra Leone MMSI)",
				"for 5.0 h", "closest 80 m", "median speed 0.2 kn", "32 nm from shore", "567 close position reports"}},
		{detect.Event{Kind: detect.KindGap, Vessels: []detect.Vessel{v}, Start: t0, End: t0.Add(14 * time.Hour),
			Details: detailsOf(map[string]any{"hours": 14.02, "start_position": []float64{35.5, 123.8}, "end_position": []float64{33.79828, 124.59939}, "distance_km": 202.86,
				"implied_speed_kn": 7.81, "start_shore_nm": 92.55, "reception_continued": true, "other_ship_hours_nearby": 251, "likely_deliberate": true})},
			[]string{"AIS silent for 14 h", "203 km between the last and the next position", "implied speed 7.8 kn", "93 nm from shore",
				"other ships were heard nearby meanwhile (251 ship-hours)", "reappeared at 33.798°N 124.599°E", "Likely deliberate"}},
		{detect.Event{Kind: detect.KindIdentityChange, Vessels: []detect.Vessel{v, {MMSI: 572000222}}, Start: t0, End: t0,
			Details: detailsOf(map[string]any{"field": "mmsi", "from": "667000202", "to": "572000222", "imo": uint32(9300207), "flag_from": "SL", "flag_to": "TV", "flag_changed": true})},
			[]string{"IMO 9300207 moved from MMSI 667000202 to MMSI 572000222", "Sierra Leone (SL) to Tuvalu (TV)", "the flag changed"}},
		{detect.Event{Kind: detect.KindDraughtChange, Vessels: []detect.Vessel{v}, Start: t0, End: t0.Add(5 * time.Hour),
			Details: detailsOf(map[string]any{"from_m": 11.0, "to_m": 6.0, "change_m": -5.0, "from_position": []float64{37.3, 123.2}, "no_port_call_between": true})},
			[]string{"from 11.0 m to 6.0 m (−5.0 m)", "since 37.300°N 123.200°E", "no port call between"}},
		{detect.Event{Kind: detect.KindPortCall, Vessels: []detect.Vessel{v}, Start: t0, End: t0.Add(30 * time.Hour),
			Details: detailsOf(map[string]any{"port": "Nampo", "country": "North Korea", "hours": 30.0, "distance_km": 1.2, "dprk_port": true})},
			[]string{"Port call at Nampo (North Korea) for 30 h", "a DPRK port", "1.2 km from the port's charted position"}},
		{detect.Event{Kind: detect.KindZoneExit, Vessels: []detect.Vessel{v}, Start: t0, End: t0,
			Details: detailsOf(map[string]any{"zone": "sts-east-china-sea", "zone_name": "East China Sea", "zone_kind": "sts_area", "hours_inside": 11.72})},
			[]string{"Left the reported ship-to-ship transfer area “East China Sea”", "after 12 h inside"}},
		{detect.Event{Kind: "inconsistency", Vessels: []detect.Vessel{v}, Start: t0, End: t0,
			Details: detailsOf(map[string]any{"reason": "call_sign_country_differs_from_mid", "call_sign": "3FAB4", "call_sign_country": "PA", "mmsi_flag": "SL"})},
			[]string{"Call sign 3FAB4 belongs to Panama (PA), the MMSI to Sierra Leone (SL)"}},
		{detect.Event{Kind: "inconsistency", Vessels: []detect.Vessel{v}, Start: t0, End: t0, Details: detailsOf(map[string]any{"reason": "class_b_on_large_ship", "length_m": 150})},
			[]string{"Class B transponder (for small craft) on a 150 m ship"}},
		{detect.Event{Kind: "identity_conflict", Vessels: []detect.Vessel{v}, Start: t0, End: t0,
			Details: detailsOf(map[string]any{"reason": "designated_identity", "listing": "CHON MA SAN [un:KPi.001]", "listed_flag": "KP", "mid_flag": "PA", "flag_differs": true})},
			[]string{"identity (IMO or MMSI) of a designated vessel, CHON MA SAN [un:KPi.001]", "listed flag North Korea (KP)", "Panama (PA): re-flagged since the listing"}},
		{detect.Event{Kind: "identity_conflict", Vessels: []detect.Vessel{v}, Start: t0, End: t0, Details: detailsOf(map[string]any{"reason": "imo_check_digit", "imo": uint32(9300208)})},
			[]string{"IMO 9300208 fails the IMO check digit"}},
		{detect.Event{Kind: "position_spoofing", Vessels: []detect.Vessel{v}, Start: t0, End: t0,
			Details: detailsOf(map[string]any{"reason": "frozen_position_while_moving", "fixes": 11, "reported_speed_kn": 12.5})},
			[]string{"The same position reported 11 times while reporting a speed of 12.5 kn"}},
		{detect.Event{Kind: "position_spoofing", Vessels: []detect.Vessel{v}, Start: t0, End: t0,
			Details: detailsOf(map[string]any{"reason": "impossible_jump", "fixes": 1, "distance_km": 812.4, "from_position": []float64{-36.88, 150.2}, "implied_speed_kn": 3000.0})},
			[]string{"Position jumped 812 km from 36.880°S 150.200°E", "then 1 report there"}},
		{detect.Event{Kind: "some_future_kind", Vessels: []detect.Vessel{v}, Start: t0, End: t0, Details: detailsOf(map[string]any{"imo": 9300207.0, "hours": 12345678.0})},
			[]string{"Some future kind", "imo 9300207", "hours 12345678"}},
	}
	for _, c := range cases {
		for _, e := range []detect.Event{c.e, viaJSON(t, c.e)} {
			got := eventWords(e)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: %q lacks %q", e.Kind, got, w)
				}
			}
			if m := badWords.FindString(got); m != "" {
				t.Errorf("%s: %q has %q", e.Kind, got, m)
			}
		}
	}
}

func TestPositionsAndUnits(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{posText(38.123, 124.456), "38.123°N 124.456°E"},
		{posText(-36.88, 150.1), "36.880°S 150.100°E"},
		{posText(10, -20.5), "10.000°N 20.500°W"},
		{posText(0, 190), "0.000°N 170.000°W"},
		{latLabel(-36), "36°S"}, {lonLabel(-0.5), "0.5°W"}, {latLabel(0), "0°"},
		{numText(9.300207e+06), "9300207"}, {numText(0.126), "0.13"}, {numText(2.5), "2.5"},
		{plural(1, "gap", "gaps"), "1 gap"}, {plural(2, "gap", "gaps"), "2 gaps"}, {plural(0, "gap", "gaps"), "0 gaps"},
		{hoursText(4.98), "5.0 h"}, {hoursText(14.02), "14 h"}, {hoursText(0.02), "1 min"}, {hoursText(100), "4.2 days (100 h)"},
		{flagName("KP"), "North Korea (KP)"}, {flagName("TV"), "Tuvalu (TV)"}, {flagName("ZZ"), "ZZ"}, {flagName("BM"), "Bermuda (BM)"},
		{identityValue("draught", "11"), "11.0 m"}, {identityValue("length", "110"), "110 m"}, {identityValue("flag", "SL"), "Sierra Leone (SL)"},
		{identityValue("ship_type", "80"), "tanker (80)"},
		{compressRefs([]string{"E3", "E1", "E2", "E5", "E7", "E8"}), "E1–E3, E5, E7, E8"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// An event whose details are missing (an old store, a new detector) is
// still said in words, without empty quotes or zero measurements.
func TestEventWordsWithoutDetails(t *testing.T) {
	v := []detect.Vessel{{MMSI: 667000202}}
	for _, k := range []string{detect.KindEncounter, detect.KindGap, detect.KindLoitering, detect.KindPortCall, detect.KindZoneEntry, detect.KindZoneExit,
		"identity_change", "draught_change", "identity_conflict", "position_spoofing", "inconsistency"} {
		got := eventWords(detect.Event{Kind: k, Vessels: v, Start: st0, End: st0.Add(90 * time.Minute)})
		for _, bad := range []string{"“”", "0.0 m", "--", "  ", "( )", "()"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s: %q has %q", k, got, bad)
			}
		}
		if m := badWords.FindString(got); m != "" {
			t.Errorf("%s: %q has %q", k, got, m)
		}
	}
}
