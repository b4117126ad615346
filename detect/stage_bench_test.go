package detect_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/sim"
)

// stageBenchNMEA is two hours of 3,000 simulated ships reporting every
// minute (about 360,000 tag-blocked lines): enough ships that their state
// does not all sit in cache, as on the 10,000-ship day.
func stageBenchNMEA(b *testing.B) []byte {
	b.Helper()
	nmea, _ := simNMEA(b, func(sc *sim.Scenario) { sc.Background, sc.Duration = 3000, 2*time.Hour })
	return nmea
}

// BenchmarkEndToEnd: read, decode, reorder (10-minute window) and every
// detector, on the two goroutines of FeedAISConcurrent, as 'tidewatch
// detect' runs them. Reported per position fix.
func BenchmarkEndToEnd(b *testing.B) {
	nmea := stageBenchNMEA(b)
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	cfg := detect.DefaultConfig
	cfg.ReorderLatenessMinutes = 10
	var fixes int64
	for b.Loop() {
		eng := detect.NewEngine(cfg, land, ports, zones, func(detect.Event) {})
		r, _ := ais.NewReader(bytes.NewReader(nmea))
		n, _, err := detect.FeedAISConcurrent(eng, r)
		if err != io.EOF {
			b.Fatal(err)
		}
		eng.Flush()
		fixes += n
	}
	b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
}
