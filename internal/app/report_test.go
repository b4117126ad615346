package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// The report draws the encounter counterpart's track (from the store,
// around the encounter) and the DPRK ports near the track.
func TestReportDrawsCounterpartAndPorts(t *testing.T) {
	s, st := seeded(t)
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const imo, own, other = 9100009, 477123000, 445000101
	run := store.Run{ID: "sts", Batches: 1, Done: true}
	b := &store.Batch{Run: run}
	for _, m := range []uint32{own, other} {
		var enc store.ChunkEncoder
		n := 0
		for min := 0; min < 24*60; min += 10 {
			lon := 124.6 + float64(min)/20000
			if m == other {
				lon = 125.0 - float64(min)/20000
			}
			enc.Append(store.Point{Time: t0.Add(time.Duration(min) * time.Minute), Lat: 38.2, Lon: lon, SOG: 1, COG: 90})
			n++
		}
		b.Chunks = append(b.Chunks, store.Chunk{MMSI: m, Start: t0, End: t0.Add(time.Duration(n-1) * 10 * time.Minute), N: n, Fixes: int64(n), Data: append([]byte(nil), enc.Bytes()...)})
	}
	end := t0.Add(24*time.Hour - 10*time.Minute)
	b.Identities = []store.Identity{
		{MMSI: own, IMO: imo, Field: "imo", Value: "9100009", First: t0, Last: end, Count: 100, Source: "ais"},
		{MMSI: own, IMO: imo, Field: "name", Value: "PLAIN SAILING", First: t0, Last: end, Count: 100, Source: "ais"},
		{MMSI: other, Field: "name", Value: "DARK STAR", First: t0, Last: end, Count: 100, Source: "ais"},
	}
	b.Events = []store.StoredEvent{{Seq: 1, Event: detect.Event{Kind: detect.KindEncounter, Start: t0.Add(10 * time.Hour), End: t0.Add(14 * time.Hour), Lat: 38.2, Lon: 124.8,
		Vessels: []detect.Vessel{{MMSI: other, Name: "DARK STAR", MIDFlag: "KP"}, {MMSI: own, IMO: imo, Name: "PLAIN SAILING", MIDFlag: "HK"}},
		Details: detailsOf(map[string]any{"hours": 4.0, "min_distance_m": 120.0, "median_speed_kn": 0.4})}}}
	if err := st.PutRun(ctx, store.Run{ID: "sts"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Report(ctx, local, app.ProfileRequest{Vessel: store.VesselQuery{IMO: imo}, AsOf: t0.Add(24 * time.Hour), Window: app.Span{Days: 1}}, "r.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(rep.HTML)
	for _, w := range []string{`class="counterpart-track" data-mmsi="445000101"`, `>Nampo<`, `MMSI 445000101 DARK STAR (encounter counterpart)`,
		`met DARK STAR (DPRK MMSI 445000101) in the reported STS area`} {
		if !strings.Contains(html, w) {
			t.Errorf("report lacks %s", w)
		}
	}
}

// detailsOf makes typed event details from their JSON keys.
func detailsOf(m map[string]any) detect.Details {
	var d detect.Details
	b, _ := json.Marshal(m)
	json.Unmarshal(b, &d)
	return d
}
