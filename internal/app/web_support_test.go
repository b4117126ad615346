package app_test

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// yearTrack stores a year of one MMSI's positions, one every 85 s
// (370,000 points): a tanker sailing a slow loop in the Yellow Sea, with a
// new track segment each month.
func yearTrack(t testing.TB, st *sqlite.DB, mmsi uint32, start time.Time) int {
	t.Helper()
	const n = 370000
	var enc store.ChunkEncoder
	var chunks []store.Chunk
	var first time.Time
	flush := func(last time.Time) {
		if enc.Len() > 0 {
			chunks = append(chunks, store.Chunk{MMSI: mmsi, Start: first, End: last, N: enc.Len(), Fixes: int64(enc.Len()), Data: append([]byte(nil), enc.Bytes()...)})
			enc.Reset()
		}
	}
	var prev time.Time
	for i := 0; i < n; i++ {
		tm := start.Add(time.Duration(i) * 85 * time.Second)
		a := float64(i) / n * 2 * math.Pi * 24 // two loops a month
		p := store.Point{Time: tm, Lat: 36 + 2*math.Sin(a) + 0.3*math.Sin(7*a), Lon: 123 + 2*math.Cos(a), SOG: 10, COG: 90, Segment: int(tm.Month())}
		if enc.Len() == 0 {
			first = tm
		}
		if err := enc.Append(p); err != nil {
			t.Fatal(err)
		}
		if enc.Len() == 2000 {
			flush(tm)
		}
		prev = tm
	}
	flush(prev)
	if err := st.CommitBatch(ctx, &store.Batch{Run: store.Run{ID: "year-track", Inputs: []string{"synthetic"}, Batches: 1, Done: true, Fixes: n, Kept: n}, Chunks: chunks}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrackViewThinsForTheMap(t *testing.T) {
	s, st := newService(t)
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	n := yearTrack(t, st, 412999001, start)
	end := start.AddDate(1, 0, 0)
	p := app.Principal{Tenant: app.LocalTenant, Actor: "viewer", Role: app.RoleViewer}

	// The whole year at a world zoom: a few thousand points at most.
	all, err := s.TrackView(ctx, p, app.TrackViewRequest{MMSI: 412999001, From: start, To: end, Tolerance: 360.0 / 256 / 32, MaxPoints: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if all.Stored != n || all.InArea != n {
		t.Errorf("stored %d in area %d, want %d", all.Stored, all.InArea, n)
	}
	if len(all.Points) == 0 || len(all.Points) > 5001 {
		t.Errorf("%d points at zoom 5, want 1..5001", len(all.Points))
	}
	// The tolerance did the thinning, not the cap: a point at most every
	// pixel, and the loop's extremes kept.
	minLat, maxLat := 90.0, -90.0
	for _, v := range all.Points {
		minLat, maxLat = math.Min(minLat, v.Lat), math.Max(maxLat, v.Lat)
	}
	if minLat > 33.9 || maxLat < 38.1 {
		t.Errorf("the loop's extent lost: lat %.2f..%.2f", minLat, maxLat)
	}
	// Twelve monthly segments: each starts a new line.
	breaks := 0
	for _, v := range all.Points {
		if v.Break {
			breaks++
		}
	}
	if breaks != 12 { // 364 days from 1 December: December to November
		t.Errorf("%d line breaks, want one per monthly segment (12)", breaks)
	}

	// Zoomed into a box: only what is in it and its neighbours, with a
	// break wherever the ship left the box.
	box := &store.BBox{South: 37.5, West: 122.5, North: 38.5, East: 124}
	zoom, err := s.TrackView(ctx, p, app.TrackViewRequest{MMSI: 412999001, From: start, To: end, Area: box, Tolerance: 360.0 / 256 / 1024})
	if err != nil {
		t.Fatal(err)
	}
	if zoom.InArea == 0 || zoom.InArea >= n {
		t.Fatalf("in area %d of %d", zoom.InArea, n)
	}
	outside := 0
	for i, v := range zoom.Points {
		if !box.Contains(v.Lat, v.Lon) {
			outside++
			// An outside point is the neighbour of an inside one.
			near := (i > 0 && box.Contains(zoom.Points[i-1].Lat, zoom.Points[i-1].Lon)) || (i+1 < len(zoom.Points) && box.Contains(zoom.Points[i+1].Lat, zoom.Points[i+1].Lon))
			if !near {
				t.Fatalf("point %d (%.3f, %.3f) is outside the box and not beside a point inside", i, v.Lat, v.Lon)
			}
		}
	}
	if outside == 0 {
		t.Error("no point just outside the box: lines would stop at its edge")
	}
	if len(zoom.Points) >= zoom.InArea+outside {
		t.Errorf("the tolerance kept every point: %d of %d", len(zoom.Points), zoom.InArea)
	}

	// Bad requests are refused, not served.
	for _, bad := range []app.TrackViewRequest{{MMSI: 0, From: start, To: end}, {MMSI: 1, From: end, To: start}, {MMSI: 1, From: start, To: end, Tolerance: -1},
		{MMSI: 1, From: start, To: end, MaxPoints: app.MaxTrackViewPoints + 1}, {MMSI: 1, From: start, To: end, Area: &store.BBox{South: 10, North: 5}}} {
		if _, err := s.TrackView(ctx, p, bad); app.CodeOf(err) != app.CodeInvalid {
			t.Errorf("%+v: %v, want invalid_argument", bad, err)
		}
	}
	if _, err := s.TrackView(ctx, app.Principal{}, app.TrackViewRequest{MMSI: 1, From: start, To: end}); app.CodeOf(err) != app.CodeUnauthenticated {
		t.Errorf("no principal: %v", err)
	}
}

func BenchmarkTrackViewYear(b *testing.B) {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := app.New(app.Config{Store: st})
	defer s.Close()
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	yearTrack(b, st, 412999001, start)
	p := app.Principal{Tenant: app.LocalTenant, Actor: "viewer", Role: app.RoleViewer}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.TrackView(ctx, p, app.TrackViewRequest{MMSI: 412999001, From: start, To: start.AddDate(1, 0, 0), Tolerance: 360.0 / 256 / 64, MaxPoints: 5000}); err != nil {
			b.Fatal(err)
		}
	}
}
