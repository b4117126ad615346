package postgres_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/ingest"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// yearStore holds a year of one slow ship (one point a minute, every
// minute of the year: the worst case the thinning policy keeps) among
// others' tracks, with a few hundred events: store/sqlite's
// BenchmarkVesselYear's data, so the two read the same.
func yearStore(tb testing.TB, others int) (*postgres.DB, uint32, time.Time) {
	tb.Helper()
	db := open(tb, pgtest.URL(tb))
	tb.Cleanup(func() { db.Close() })
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	const subject = 445000101
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
			Vessels: []detect.Vessel{{MMSI: subject}}}
		b.Events = append(b.Events, store.StoredEvent{Seq: seq, Event: ev})
		seq++
		run.Batches++
		b.Run = run
		if err := db.CommitBatch(ctx, b); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := db.Pool().Exec(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	return db, subject, t0
}

// BenchmarkVesselYear reads one vessel's 12-month track and events: the
// issue's target is under 100 ms.
func BenchmarkVesselYear(b *testing.B) {
	db, mmsi, t0 := yearStore(b, 50)
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
	from := t0.Add(100 * 24 * time.Hour)
	if pts, _ := db.Track(ctx, mmsi, from, from.Add(time.Hour)); len(pts) != 61 {
		t.Errorf("one hour: %d points, want 61", len(pts))
	}
	if cov, _ := db.Coverage(ctx, []uint32{mmsi}, t0, t0.Add(365*24*time.Hour)); cov.Days != 365 || cov.Points != 365*1024 {
		t.Errorf("coverage %+v", cov)
	}
}

// BenchmarkCommitChunks commits batches of chunks as ingest cuts them
// (one chunk per ship a batch, 1,024 points at most): the store's side
// of ingest throughput, in points per second.
func BenchmarkCommitChunks(b *testing.B) {
	db := open(b, pgtest.URL(b))
	defer db.Close()
	const ships, per = 2000, 100
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	var chunks []store.Chunk
	for s := 0; s < ships; s++ {
		var enc store.ChunkEncoder
		for i := 0; i < per; i++ {
			enc.Append(store.Point{Time: t0.Add(time.Duration(i) * time.Minute), Lat: 30 + rng.Float64(), Lon: 120 + rng.Float64(), SOG: 10, COG: 90})
		}
		chunks = append(chunks, store.Chunk{MMSI: uint32(400000000 + s), Start: t0, End: t0.Add(per * time.Minute), N: per, Fixes: 10 * per, Data: append([]byte(nil), enc.Bytes()...)})
	}
	run := store.Run{ID: "bench"}
	i := 0
	for b.Loop() {
		// Each batch a new day, so keys never repeat.
		day := time.Duration(i) * 24 * time.Hour
		batch := &store.Batch{Run: run}
		for _, c := range chunks {
			c.Start, c.End = c.Start.Add(day), c.End.Add(day)
			batch.Chunks = append(batch.Chunks, c)
		}
		i++
		batch.Run.Batches = int64(i)
		if err := db.CommitBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ships*per*b.N)/b.Elapsed().Seconds(), "points/s")
}

// timedStore counts the time spent committing batches.
type timedStore struct {
	store.Store
	commit time.Duration
}

func (s *timedStore) CommitBatch(ctx context.Context, b *store.Batch) error {
	t := time.Now()
	err := s.Store.CommitBatch(ctx, b)
	s.commit += time.Since(t)
	return err
}

// BenchmarkIngest ingests the AIS file TIDEWATCH_BENCH_AIS names (the
// simulated 10,000-ship day: docs/scale.md) into PostgreSQL and into
// SQLite, one sub-benchmark after the other (with -count, interleaved),
// each time into a new store, with ingest's default batch size. It
// reports fixes/s end to end and commit-fixes/s, the fixes per second of
// time spent in CommitBatch: what one worker's store writes sustain.
func BenchmarkIngest(b *testing.B) {
	path := os.Getenv("TIDEWATCH_BENCH_AIS")
	if path == "" {
		b.Skip("TIDEWATCH_BENCH_AIS names no AIS file")
	}
	in := fileInput(b, path)
	opt := ingestOptions()
	opt.BatchFixes = 0 // the default
	for _, kind := range []string{"postgres", "sqlite"} {
		b.Run(kind, func(b *testing.B) {
			var fixes int64
			var commit, total time.Duration
			for b.Loop() {
				b.StopTimer()
				var st store.Store
				if kind == "postgres" {
					st = open(b, pgtest.URL(b))
				} else {
					db, err := sqlite.Open(filepath.Join(b.TempDir(), "s.db"))
					if err != nil {
						b.Fatal(err)
					}
					st = db
				}
				ts := &timedStore{Store: st}
				b.StartTimer()
				t := time.Now()
				res, err := ingest.Run(ctx, ts, []ingest.Input{in}, opt)
				total += time.Since(t)
				if err != nil {
					b.Fatal(err)
				}
				fixes += res.Run.Fixes
				commit += ts.commit
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(fixes)/total.Seconds(), "fixes/s")
			b.ReportMetric(float64(fixes)/commit.Seconds(), "commit-fixes/s")
			b.ReportMetric(commit.Seconds()/float64(b.N), "commit-s/op")
		})
	}
}
