package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strconv"
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
	in := risk.Input{IMO: 9300207, AsOf: t0.Add(72 * time.Hour), WindowStart: t0.Add(72*time.Hour).AddDate(-1, 0, 0),
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
	if err := Write(&buf, Input{Profile: risk.Assess(risk.Input{MMSI: 1, AsOf: t0, WindowStart: t0.Add(-time.Hour)}, risk.DefaultConfig)}); err != nil {
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

var labelRect = regexp.MustCompile(`<g class="event-label" data-refs="([^"]*)"><rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.-]+)" height="([\d.-]+)"`)

func atof(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// Events crowded on the map (an STS story in a few square kilometres)
// still get labels that do not overlap, and every event is named by a
// label or in the key beside the map.
func TestMapLabelsDoNotOverlap(t *testing.T) {
	land, err := geo.LoadLand()
	if err != nil {
		t.Fatal(err)
	}
	var evs []risk.EventRef
	kinds := []string{"encounter", "loitering", "gap", "zone_entry", "draught_change", "identity_change"}
	for i := 0; i < 60; i++ {
		lat, lon := 38.2+0.002*float64(i%7), 124.0+0.003*float64(i%5)
		if i%4 == 0 { // some spread along a route
			lat, lon = 36+0.08*float64(i), 123.5+0.02*float64(i)
		}
		evs = append(evs, risk.EventRef{Ref: fmt.Sprintf("E%d", i+1), Event: detect.Event{Kind: kinds[i%len(kinds)], Start: st0.Add(time.Duration(i) * time.Hour),
			End: st0.Add(time.Duration(i)*time.Hour + 30*time.Minute), Lat: lat, Lon: lon, Vessels: []detect.Vessel{{MMSI: 667000202}}}})
	}
	in := Input{Profile: risk.Profile{Events: evs, AsOf: st0.Add(100 * time.Hour), WindowStart: st0}, Land: land}
	mv := mapSVG(&in, nil)
	svg := string(mv.SVG)
	var boxes []box
	named := map[string]bool{}
	for _, m := range labelRect.FindAllStringSubmatch(svg, -1) {
		b := box{atof(m[2]), atof(m[3]), atof(m[2]) + atof(m[4]), atof(m[3]) + atof(m[5])}
		for i, o := range boxes {
			if b.overlaps(o) {
				t.Errorf("label %d overlaps label %s at %+v", i, m[1], b)
			}
		}
		boxes = append(boxes, b)
		for _, r := range strings.Fields(m[1]) {
			named[r] = true
		}
	}
	for _, k := range mv.Keys {
		for _, r := range strings.Split(k.Refs, ", ") {
			if a, z, ok := strings.Cut(r, "–"); ok {
				for i := atof(a[1:]); i <= atof(z[1:]); i++ {
					named[fmt.Sprintf("E%.0f", i)] = true
				}
				continue
			}
			named[r] = true
		}
	}
	if len(boxes) < 3 {
		t.Errorf("only %d labels for 60 events", len(boxes))
	}
	for _, e := range evs {
		if !named[e.Ref] {
			t.Errorf("%s has no label", e.Ref)
		}
	}
}

// The map has a scale bar, a north arrow, graticule labels with
// hemispheres (never "-36°N"), the DPRK ports near the track, zone names
// and the counterpart's track in its own style.
func TestMapFurniture(t *testing.T) {
	land, _ := geo.LoadLand()
	ports, err := geo.LoadPorts()
	if err != nil {
		t.Fatal(err)
	}
	p := risk.Assess(stsStory(true, true), risk.DefaultConfig)
	var track, cps []TrackPoint
	for i := 0; i < 50; i++ {
		track = append(track, TrackPoint{MMSI: 667000202, Time: sh(float64(i)), Lat: 38.2 - 0.1*float64(i), Lon: 124 - 0.01*float64(i)})
		cps = append(cps, TrackPoint{MMSI: 445000101, Time: sh(float64(i) / 4), Lat: 38.7 - 0.01*float64(i), Lon: 125.3 - 0.025*float64(i)})
	}
	in := Input{Profile: p, Track: track, Counterparts: cps, Land: land, Zones: zonesT(t), Ports: ports}
	mv := mapSVG(&in, vesselNames(&p))
	svg := string(mv.SVG)
	for _, w := range []string{`class="scale-bar"`, `class="north-arrow"`, `class="graticule"`, `°N</text>`, `°E</text>`, `class="place-label"`, `>Nampo<`,
		`class="zone-label"`, `class="counterpart-track" data-mmsi="445000101"`, `stroke-dasharray="1.5 3"`} {
		if !strings.Contains(svg, w) {
			t.Errorf("map lacks %s", w)
		}
	}
	if len(mv.Counterparts) != 1 || !strings.Contains(mv.Counterparts[0].Label, "SIM YU SAN") || !strings.Contains(mv.Scale, " nm and ") {
		t.Errorf("legend: %+v %q", mv.Counterparts, mv.Scale)
	}
	// Southern hemisphere: the AMSA data is off New South Wales.
	var south []TrackPoint
	for i := 0; i < 20; i++ {
		south = append(south, TrackPoint{MMSI: 1, Time: sh(float64(i)), Lat: -36.88 + 0.05*float64(i), Lon: 150.2 + 0.02*float64(i)})
	}
	svg = string(mapSVG(&Input{Track: south, Land: land}, nil).SVG)
	if !strings.Contains(svg, "°S</text>") || regexp.MustCompile(`-\d+(\.\d+)?°`).MatchString(svg) {
		t.Error("southern latitudes are not written with S")
	}
}

// The timeline's axis labels never overlap, whatever the span, and events
// in one lane that overlap (with their labels) go in separate rows.
func TestTimelineReadable(t *testing.T) {
	from := time.Date(2026, 3, 1, 7, 13, 0, 0, time.UTC)
	for _, span := range []time.Duration{2 * time.Hour, 20 * time.Hour, 3 * 24 * time.Hour, 10 * 24 * time.Hour, 45 * 24 * time.Hour,
		365 * 24 * time.Hour, 5 * 365 * 24 * time.Hour, 30 * 365 * 24 * time.Hour} {
		for _, w := range []float64{300, 760} {
			ts := axisTicks(from, from.Add(span), w)
			if len(ts) < 2 {
				t.Errorf("span %v width %.0f: %d ticks", span, w, len(ts))
			}
			if !ticksFit(ts, w) {
				t.Errorf("span %v width %.0f: labels overlap: %+v", span, w, ts)
			}
		}
	}
	bs := []*bar{{e: risk.EventRef{Ref: "E1"}, x1: 100, x2: 200}, {e: risk.EventRef{Ref: "E2"}, x1: 150, x2: 160}, {e: risk.EventRef{Ref: "E3"}, x1: 205, x2: 210}, {e: risk.EventRef{Ref: "E4"}, x1: 400, x2: 420}}
	if n := layoutLane(bs, 880); n != 2 || bs[0].row == bs[1].row || bs[0].row == bs[2].row || bs[3].row != 0 {
		t.Errorf("rows: %d; %d %d %d %d", n, bs[0].row, bs[1].row, bs[2].row, bs[3].row)
	}
	// A label at the right edge goes left of its bar.
	bs = []*bar{{e: risk.EventRef{Ref: "E9"}, x1: 860, x2: 880}}
	layoutLane(bs, 880)
	if bs[0].anchor != "end" {
		t.Error("a label at the right edge runs off the timeline")
	}
}

// Hostile text in any field (a broadcast name, a decision note, a zone)
// reaches the page as text: no markup, no script, no control or bidi
// character that could hide or reverse what the page says.
func TestHostileNamesEscaped(t *testing.T) {
	land, _ := geo.LoadLand()
	hostile := "<script>alert(1)</script>\"' onload=\"x\x00\x07\x1b[31m\u202eRTL\u2066\u200f</svg><svg onload=alert(2)>"
	in := stsStory(true, true)
	in.Observations = append(in.Observations, risk.Observation{MMSI: 667000202, Field: "name", Value: hostile, First: sh(1), Last: sh(2)},
		risk.Observation{MMSI: 667000202, Field: "destination", Value: hostile, First: sh(1), Last: sh(2)})
	in.Events[0].Vessels[0].Name = hostile
	in.Events = append(in.Events, detect.Event{Kind: "identity_change", Start: sh(3), End: sh(3), Lat: 38, Lon: 124, Vessels: []detect.Vessel{{MMSI: 667000202, Name: hostile}},
		Details: detailsOf(map[string]any{"field": "name", "from": "A", "to": hostile, hostile: hostile})})
	in.Events = append(in.Events, detect.Event{Kind: hostile, Start: sh(4), End: sh(5), Lat: 38.1, Lon: 124.1, Vessels: []detect.Vessel{{MMSI: 667000202}}, Details: detailsOf(map[string]any{hostile: 1.5})})
	in.Hits[0].Name = hostile
	in.Hits[0].Explanation = []string{hostile}
	in.Parties = []risk.Party{{Role: "owner", Name: hostile, From: hostile}}
	p := risk.Assess(in, risk.DefaultConfig)
	zones := zonesT(t)
	evil := &geo.Zone{}
	if zs, err := geo.ParseZones(strings.NewReader(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x","name":`+jsonString(hostile)+`,"kind":"sts_area"},"geometry":{"type":"Polygon","coordinates":[[[123,37],[125,37],[125,39],[123,39],[123,37]]]}}]}`), "user"); err == nil && len(zs) == 1 {
		evil = zs[0]
		zones = append(zones, evil)
	} else {
		t.Fatalf("zone: %v", err)
	}
	var buf bytes.Buffer
	err := Write(&buf, Input{Profile: p, Land: land, Zones: zones, Generated: st0, GeneratedBy: hostile, Window: hostile, Simulated: []string{hostile},
		Decisions: []Decision{{Time: st0, Actor: hostile, Decision: hostile, Note: hostile, AuditHash: hostile}},
		Track:     []TrackPoint{{MMSI: 667000202, Time: sh(0), Lat: 38, Lon: 124}, {MMSI: 667000202, Time: sh(1), Lat: 38.1, Lon: 124.1}}})
	if err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "<svg onload", "onload=\"x", "\u202e", "\u2066", "\u200f", "\x00", "\x07", "\x1b"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if n, m := strings.Count(page, "<svg"), strings.Count(page, "</svg>"); n != 2 || m != 2 {
		t.Errorf("%d <svg and %d </svg>: a name broke out of a drawing", n, m)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(page, "\uFFFDRTL") {
		t.Error("the hostile name is not shown as text")
	}
}

// Same profile, same page; only the generation time differs.
func TestReportDeterministic(t *testing.T) {
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	p := risk.Assess(stsStory(true, true), risk.DefaultConfig)
	render := func(gen time.Time) string {
		var buf bytes.Buffer
		in := Input{Profile: p, Land: land, Zones: zonesT(t), Ports: ports, Generated: gen, Track: []TrackPoint{{MMSI: 667000202, Time: sh(0), Lat: 38, Lon: 124}, {MMSI: 667000202, Time: sh(1), Lat: 37, Lon: 123.5}}}
		if err := Write(&buf, in); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	a, b := render(st0), render(st0)
	if a != b {
		t.Error("two renderings of one profile differ")
	}
	c := render(st0.Add(time.Hour))
	if a == c || strings.ReplaceAll(c, "2026-03-01 01:00 UTC", "2026-03-01 00:00 UTC") != a {
		t.Error("the generation time is not the only difference")
	}
}

// Printing: page margins, headings kept with what follows, table headers
// repeated, the map and timeline never split.
func TestPrintCSS(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, Input{Profile: risk.Assess(stsStory(true, true), risk.DefaultConfig)}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, w := range []string{"@page{margin:", "h1,h2,h3,.keep-next{break-after:avoid", "thead{display:table-header-group}", "svg,.legend,#timeline{break-inside:avoid",
		"<thead><tr><th>Ref</th><th>Kind</th>", `<figure id="map">`, `<figure id="timeline">`} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %s", w)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A near miss (a listed vessel's name, another IMO) is shown under the
// list hits, apart from them, and the report still says no list matched.
func TestReportNearMiss(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const msg = "name of listed vessel CHON MA SAN (ofac-sdn:23729), IMO differs: query 9811000, listed 8660313"
	in := risk.Input{IMO: 9811000, AsOf: t0, WindowStart: t0.Add(-time.Hour), Lists: []risk.ListVersion{{List: "ofac-sdn", ID: "ofac-sdn@sha256-54e0823e", Published: "2024-05-03"}},
		NearMisses: []risk.NearMiss{{About: "vessel", Query: `name "CHON MA SAN"`, Kind: "imo_differs", EntityID: "ofac-sdn:23729", Name: "CHON MA SAN",
			Score: 0.85, NameScore: 1, QueryIMO: "IMO9811000", ListedIMO: "IMO8660313", Message: msg}}}
	var buf bytes.Buffer
	if err := Write(&buf, Input{Profile: risk.Assess(in, risk.DefaultConfig)}); err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(buf.String())
	if !strings.Contains(page, "no match; 1 near miss, a listed vessel's name with another IMO, not a match") {
		t.Errorf("the summary does not say there is a near miss: %s", page[strings.Index(page, "Screened"):][:400])
	}
	if !strings.Contains(page, `id="near-misses"`) || !strings.Contains(page, `name "CHON MA SAN": `+msg) || !strings.Contains(page, `id="no-hits"`) {
		t.Errorf("the report lacks the near miss:\n%s", page[strings.Index(page, `id="list-hits"`):][:1500])
	}
}
