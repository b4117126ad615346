package detect

import (
	"math"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/track"
)

// FeedAIS passes a source's position and static messages to the engine
// until the source ends, and returns how many positions it gave and how
// many it skipped for having no time, with the source's final error
// (io.EOF at a clean end).
func FeedAIS(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	var m ais.Message
	for {
		if err := src.Next(&m); err != nil {
			return positions, untimed, err
		}
		switch {
		case m.IsPosition():
			lat, lon, ok := m.LatLon()
			if !ok {
				continue
			}
			if m.Time.IsZero() {
				untimed++
				continue
			}
			sog, ok := m.SpeedKnots()
			if !ok {
				sog = math.NaN()
			}
			cog, ok := m.CourseDegrees()
			if !ok {
				cog = math.NaN()
			}
			eng.Position(track.Fix{MMSI: m.MMSI, Time: m.Time, Lat: lat, Lon: lon, SOG: sog, COG: cog, Source: m.Source})
			positions++
			if m.Type == 19 {
				eng.Static(StaticOf(&m))
			}
		case m.Type == 5 || m.Type == 24:
			if !m.Time.IsZero() {
				eng.Static(StaticOf(&m))
			}
		}
	}
}

// StaticOf turns a static message (5, 19, 24) into a report.
func StaticOf(m *ais.Message) StaticReport {
	r := StaticReport{MMSI: m.MMSI, Time: m.Time, Name: m.ShipName, CallSign: m.CallSign, ShipType: m.ShipType,
		Destination: m.Destination, LengthM: int(m.ToBow) + int(m.ToStern), ClassB: m.Type != 5}
	if m.Type == 5 {
		r.IMO = m.IMO
		if d, ok := m.DraughtMetres(); ok {
			r.Draught = d
		}
	}
	return r
}
