package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/risk"
)

func TestReportRenders(t *testing.T) {
	land, err := geo.LoadLand()
	if err != nil {
		t.Fatal(err)
	}
	zones, _ := geo.BuiltinZones()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	in := risk.Input{IMO: 9300207, AsOf: t0.Add(72 * time.Hour), Window: 365 * 24 * time.Hour,
		Observations: []risk.Observation{{MMSI: 667000202, Field: "name", Value: `<script>alert(1)</script>`, First: t0, Last: t0.Add(time.Hour)}},
		Events: []detect.Event{{Kind: "encounter", Start: t0.Add(7 * time.Hour), End: t0.Add(12 * time.Hour), Lat: 38.2, Lon: 124,
			Vessels: []detect.Vessel{{MMSI: 445000101, MIDFlag: "KP"}, {MMSI: 667000202}}, Details: detect.Details{Hours: 5}}}}
	p := risk.Assess(in, risk.DefaultConfig)
	var track []TrackPoint
	for i := 0; i < 100; i++ {
		track = append(track, TrackPoint{MMSI: 667000202, Time: t0.Add(time.Duration(i) * 10 * time.Minute), Lat: 37.5 + float64(i)/150, Lon: 123.5 + float64(i)/200})
	}
	var buf bytes.Buffer
	if err := Write(&buf, Input{Profile: p, Track: track, Land: land, Zones: zones, Generated: t0, Simulated: []string{"sim"}}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{`id="map-svg"`, `class="track"`, `class="event-marker" data-ref="E1"`, `id="factor-encounter_dprk"`,
		`id="E1"`, `id="simulated"`, `class="land"`, `class="coast"`, `class="zone"`} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if strings.Contains(html, "<script>alert") {
		t.Error("a broadcast name reached the page unescaped")
	}
	// An empty profile renders too: no track, no event, no list.
	buf.Reset()
	if err := Write(&buf, Input{Profile: risk.Assess(risk.Input{MMSI: 1, AsOf: t0, Window: time.Hour}, risk.DefaultConfig)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `id="no-factors"`) || !strings.Contains(buf.String(), `id="no-hits"`) {
		t.Error("the empty report does not say it found nothing")
	}
}

func TestProjectionKeepsShape(t *testing.T) {
	// One degree of latitude and one of longitude at 38N: the projection
	// scales longitude by cos(38) so the map is not stretched.
	pr := newProjection([]float64{37, 39}, []float64{123, 125}, 900)
	x1, y1 := pr.xy(38, 124)
	x2, _ := pr.xy(38, 125)
	_, y3 := pr.xy(39, 124)
	ratio := (x2 - x1) / (y1 - y3)
	if ratio < 0.75 || ratio > 0.83 {
		t.Errorf("a degree east / a degree north = %.3f, want cos(38) = 0.788", ratio)
	}
}
