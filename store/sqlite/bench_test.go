package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/store"
)

// yearStore holds a year of one slow ship (one point a minute, every
// minute of the year: the worst case the thinning policy keeps) among
// others' tracks, with a few hundred events.
func yearStore(tb testing.TB, others int) (*DB, uint32, time.Time) {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "year.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	const subject = 445000101
	ctx := context.Background()
	run := store.Run{ID: "bench"}
	var seq int64
	for day := 0; day < 365; day++ {
		b := &store.Batch{Run: run}
		for v := 0; v <= others; v++ {
			mmsi := uint32(subject + v)
			every := time.Minute
			if v > 0 {
				every = 10 * time.Minute // a moving ship after thinning
			}
			var enc store.ChunkEncoder
			start := t0.Add(time.Duration(day) * 24 * time.Hour)
			n := 0
			for t := start; t.Before(start.Add(24 * time.Hour)); t = t.Add(every) {
				if n == 1024 {
					break // the chunk cap
				}
				f := float64(t.Sub(t0)) / float64(365*24*time.Hour)
				enc.Append(store.Point{Time: t, Lat: 30 + 10*f, Lon: 120 + 5*f, SOG: 1.5, COG: 90})
				n++
			}
			b.Chunks = append(b.Chunks, store.Chunk{MMSI: mmsi, Start: start, End: start.Add(time.Duration(n-1) * every), N: n, Fixes: int64(n * 3), Data: append([]byte(nil), enc.Bytes()...)})
		}
		ev := detect.Event{Kind: "loitering", Start: t0.Add(time.Duration(day) * 24 * time.Hour), End: t0.Add(time.Duration(day)*24*time.Hour + 5*time.Hour),
			Vessels: []detect.Vessel{{MMSI: subject}}, Details: detect.Details{Hours: 5}}
		b.Events = append(b.Events, store.StoredEvent{Seq: seq, Event: ev})
		seq++
		run.Batches++
		b.Run = run
		if err := db.CommitBatch(ctx, b); err != nil {
			tb.Fatal(err)
		}
	}
	return db, subject, t0
}

// BenchmarkVesselYear reads one vessel's 12-month track and events: the
// issue's target is under 100 ms.
func BenchmarkVesselYear(b *testing.B) {
	db, mmsi, t0 := yearStore(b, 50)
	ctx := context.Background()
	from, to := t0, t0.Add(365*24*time.Hour)
	var n int
	for b.Loop() {
		pts, err := db.Track(ctx, mmsi, from, to)
		if err != nil {
			b.Fatal(err)
		}
		evs, err := db.Events(ctx, []uint32{mmsi}, from, to)
		if err != nil {
			b.Fatal(err)
		}
		n = len(pts) + len(evs)
	}
	b.ReportMetric(float64(n), "points+events")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/read")
}

func TestVesselYearRead(t *testing.T) {
	db, mmsi, t0 := yearStore(t, 3)
	ctx := context.Background()
	pts, err := db.Track(ctx, mmsi, t0, t0.Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 365*1024 {
		t.Errorf("%d points, want %d", len(pts), 365*1024)
	}
	evs, err := db.Events(ctx, []uint32{mmsi}, t0, t0.Add(365*24*time.Hour))
	if err != nil || len(evs) != 365 {
		t.Errorf("%d events, %v", len(evs), err)
	}
	// A window inside the year returns only its points.
	from := t0.Add(100 * 24 * time.Hour)
	pts, _ = db.Track(ctx, mmsi, from, from.Add(time.Hour))
	if len(pts) != 61 {
		t.Errorf("one hour: %d points, want 61", len(pts))
	}
	cov, _ := db.Coverage(ctx, []uint32{mmsi}, t0, t0.Add(365*24*time.Hour))
	if cov.Days != 365 || cov.Points != 365*1024 {
		t.Errorf("coverage %+v", cov)
	}
	_ = fmt.Sprint()
}

// BenchmarkAppendAudit appends screening-sized audit records in groups
// of 32 (the audit writer's group under 32 concurrent clients): the
// store's share of a screening's cost, per record.
func BenchmarkAppendAudit(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	data := []byte(`{"lists":["eu@2025-12-17-e615d3ab","ofac-cons@2025-12-19-acfe53c5","ofac-sdn@2024-05-03-54e0823e","uk@sha256-5ed3f2bf","un@2026-02-27-66b392a4"],"matches":["ofac-sdn:23729 1.000"],"query":{"type":"vessel","name":"CHON MA SAN"},"threshold":0.86,"warnings":null}`)
	hash := "5ed3f2bf425ce48d1b1a3a7c3049b1f923038420ddadf9b169e50f694b7f67f4"
	group := make([]store.AuditRecord, 32)
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var seq int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(group) {
		for j := range group {
			seq++
			group[j] = store.AuditRecord{Tenant: "bench", Seq: seq, Time: t0.Add(time.Duration(seq) * time.Millisecond), Actor: "key:be6829d4ee71", Action: "screen",
				Subject: fmt.Sprintf("name:SHIP %d", seq%40), Data: data, Prev: hash, Hash: hash}
		}
		if err := db.AppendAudit(ctx, group); err != nil {
			b.Fatal(err)
		}
	}
}
