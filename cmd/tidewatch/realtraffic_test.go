package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestRealTrafficBudget keeps the detectors honest on real traffic with
// no sanctions evasion in it (docs/detection.md "Quality"): the
// MarineCadastre slice (one US coastal day, 10,630 ships) and the three
// exactEarth days give at most 40 identity conflicts and spoofing events
// together, no high-severity event at all, and nothing placed at 0, 0
// but data-quality findings about MMSIs whose position was never heard.
func TestRealTrafficBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 140,000 real AIS rows")
	}
	files := []string{
		"../../ais/testdata/marinecadastre_2022-01-03_first99999rows.csv.gz",
		"../../ais/testdata/amsa_risky_exactearth_2012-01-31.nmea.gz",
		"../../ais/testdata/amsa_risky_exactearth_2012-02-01.nmea.gz",
		"../../ais/testdata/amsa_risky_exactearth_2012-02-02.nmea.gz",
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("real data missing: %v", err)
		}
	}
	dir := t.TempDir()
	for _, f := range files {
		out := filepath.Join(dir, filepath.Base(f)+".jsonl")
		if code, _, errs := tw(t, "detect", "--out", out, f); code != 0 {
			t.Fatalf("%s: exit %d: %s", f, code, errs)
		}
		fh, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		var n, flagged int
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct {
				Kind     string  `json:"kind"`
				Severity string  `json:"severity"`
				Lat      float64 `json:"lat"`
				Lon      float64 `json:"lon"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			n++
			if ev.Kind == "identity_conflict" || ev.Kind == "position_spoofing" {
				flagged++
			}
			if ev.Severity == "high" {
				t.Errorf("%s: a high event on ordinary traffic: %s", filepath.Base(f), sc.Text())
			}
			if ev.Lat == 0 && ev.Lon == 0 && ev.Kind != "inconsistency" {
				t.Errorf("%s: an event at 0, 0: %s", filepath.Base(f), sc.Text())
			}
		}
		fh.Close()
		if n == 0 {
			t.Errorf("%s: no events at all (the test would prove nothing)", f)
		}
		if flagged > 40 {
			t.Errorf("%s: %d identity conflicts and spoofing events, budget 40", filepath.Base(f), flagged)
		}
		t.Logf("%s: %d events, %d conflicts or spoofing", filepath.Base(f), n, flagged)
	}
}
