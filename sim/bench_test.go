package sim

import (
	"bytes"
	"io"
	"testing"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// BenchmarkEngine times the detectors alone (tracks, reordering, every
// detector) over the fixes of a simulated day of 300 ships at 30-second
// reports, decoded beforehand. Reported per fix.
func BenchmarkEngine(b *testing.B) {
	sc := DefaultScenario
	sc.Background, sc.Interval = 300, 30*1e9
	var nmea bytes.Buffer
	if err := Run(sc, &nmea, nil); err != nil {
		b.Fatal(err)
	}
	// Decode once into fixes.
	var fixes []track.Fix
	r, _ := ais.NewReader(&nmea)
	var m ais.Message
	for r.Next(&m) != io.EOF {
		if lat, lon, ok := m.LatLon(); ok && m.IsPosition() {
			sog, _ := m.SpeedKnots()
			fixes = append(fixes, track.Fix{MMSI: m.MMSI, Time: track.TimeOf(m.Time), Lat: lat, Lon: lon, SOG: sog, Extra: &track.Extra{Source: m.Source}})
		}
	}
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := detect.NewEngine(detect.DefaultConfig, land, ports, zones, func(detect.Event) {})
		for _, f := range fixes {
			e.Position(f)
		}
		e.Flush()
	}
	b.ReportMetric(float64(len(fixes))*float64(b.N)/b.Elapsed().Seconds(), "fixes/s")
}
