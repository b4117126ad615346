package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tidewatch/tidewatch/ais"
)

func TestDetectCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ev.jsonl")
	// The DMA drift case (14.5 h of one ship drifting in the Baltic).
	code, _, errs := tw(t, "detect", "--out", out, "../../ais/testdata/dma_aisabnormal_212123000_drift_1.nmea.gz")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	f, _ := os.Open(out)
	defer f.Close()
	var evs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		evs = append(evs, o)
	}
	// One loitering event (the drift), and the destination update it sent.
	kinds := map[string]int{}
	for _, ev := range evs {
		kinds[ev["kind"].(string)]++
		if ev["vessels"].([]any)[0].(map[string]any)["mmsi"] != float64(212123000) {
			t.Errorf("event for another ship: %v", ev)
		}
	}
	if kinds["loitering"] != 1 || kinds["identity_change"] != 1 || len(evs) != 2 {
		t.Errorf("events %v", evs)
	}
	if !strings.Contains(errs, "2 events: identity_change 1 loitering 1") {
		t.Errorf("summary %q", errs)
	}
	// The Skagen anchorage snapshot holds dozens of ships anchored close
	// together: no encounter.
	code, stdout, _ := tw(t, "detect", "../../ais/testdata/dma_aisabnormal_2013-11-12_ais-sample.nmea.gz")
	if code != 0 || strings.Contains(stdout, "encounter") {
		t.Errorf("Skagen: %d %s", code, stdout)
	}
	// Bad config keys and zone files are refused.
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(`{"gap_minimum_hours": 3}`), 0o644)
	if code, _, errs := tw(t, "detect", "--thresholds", cfg, "x"); code != 2 || !strings.Contains(errs, "unknown field") {
		t.Errorf("bad config: %d %s", code, errs)
	}
	zones := filepath.Join(dir, "z.geojson")
	os.WriteFile(zones, []byte(`{"type":"FeatureCollection","features":[]}`), 0o644)
	if code, _, errs := tw(t, "detect", "--zones", zones, "x"); code != 2 || !strings.Contains(errs, "no Polygon") {
		t.Errorf("bad zones: %d %s", code, errs)
	}
}

// With --sanctions, a ship broadcasting a designated vessel's IMO number is
// flagged whatever name it uses.
func TestDetectDesignatedIdentity(t *testing.T) {
	lat, lon := ais.RawLatLon(30.5, 124.5)
	pos := ais.Message{MMSI: 352000999, SpeedRaw: 100, LatRaw: lat, LonRaw: lon, Course: 900, Heading: 90}
	st := ais.Message{MMSI: 352000999, IMO: 8606173, ShipName: "HAPPY VOYAGER", CallSign: "3EAB1", ShipType: 70, Draught: 60}
	var lines []string
	pl, f := ais.EncodePosition(&pos)
	lines = append(lines, ais.Sentences(pl, f, 1772323200, "t", 0, 0, 'A')...)
	pl, f = ais.EncodeStatic(&st)
	lines = append(lines, ais.Sentences(pl, f, 1772323230, "t", 1, 1, 'B')...)
	in := filepath.Join(t.TempDir(), "in.nmea")
	os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	code, out, errs := tw(t, "detect", "--sanctions", "--embedded", in)
	if code != 0 || !strings.Contains(out, `"reason":"designated_identity"`) || !strings.Contains(out, "RYONG GUN BONG") || !strings.Contains(out, `"flag_differs":true`) {
		t.Errorf("designated identity: %d %s %s", code, out, errs)
	}
}

// The same AIS split over two files gives the same events in either order,
// and the same as one file.
func TestDetectFileOrderDoesNotMatter(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "day.nmea")
	if code, _, errs := tw(t, "simulate", "--ships", "10", "--hours", "24", "--out", whole); code != 0 {
		t.Fatal(errs)
	}
	data, _ := os.ReadFile(whole)
	lines := strings.SplitAfter(string(data), "\n")
	// Split at a message boundary (a line whose tag block is not a
	// continuation group fragment) half-way, and interleave the halves'
	// order by writing the second half first in one of the files.
	cut := len(lines) / 2
	for strings.HasPrefix(lines[cut], `\g:2-`) {
		cut++
	}
	a, b := filepath.Join(dir, "a.nmea"), filepath.Join(dir, "b.nmea")
	os.WriteFile(a, []byte(strings.Join(lines[:cut], "")), 0o644)
	os.WriteFile(b, []byte(strings.Join(lines[cut:], "")), 0o644)
	_, one, _ := tw(t, "detect", whole)
	_, ab, _ := tw(t, "detect", a, b)
	_, ba, baErr := tw(t, "detect", b, a)
	if one == "" || one != ab || one != ba {
		t.Errorf("events differ: whole %d bytes, a+b %d, b+a %d", len(one), len(ab), len(ba))
	}
	// b then a is read twice (the first read stops at the first late fix);
	// each file's summary is printed once, for the full read.
	if !strings.Contains(baErr, "not in time order") {
		t.Errorf("no re-read note:\n%s", baErr)
	}
	for _, f := range []string{a, b} {
		if n := strings.Count(baErr, f+": "); n != 1 {
			t.Errorf("%s summarised %d times:\n%s", f, n, baErr)
		}
	}
	bLines := strings.Count(strings.Join(lines[cut:], ""), "\n")
	if want := " messages from " + strconv.Itoa(bLines) + " lines"; !strings.Contains(baErr, b+": ") || !strings.Contains(baErr, want) {
		t.Errorf("want %s's summary of all its %d lines:\n%s", b, bLines, baErr)
	}
	if !strings.Contains(one, `"kind":"encounter"`) {
		t.Error("no encounter in the simulated day")
	}
}
