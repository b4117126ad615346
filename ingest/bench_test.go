package ingest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// BenchmarkIngest loads a simulated day (200 ships, one report a minute)
// from an NMEA file into a fresh store: decode, reorder, every detector,
// thinning, chunk encoding and the SQLite commits.
func BenchmarkIngest(b *testing.B) {
	sc := sim.DefaultScenario
	in := fileInput(b, simFile(b, sc))
	opt := options(b)
	opt.BatchFixes = 1 << 20
	var fixes int64
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Run(context.Background(), db, []Input{in}, opt)
		if err != nil {
			b.Fatal(err)
		}
		fixes += res.Run.Fixes
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
}
