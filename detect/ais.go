package detect

import (
	"math"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/track"
)

// feedItem is a decoded position or static report on its way to the engine.
type feedItem struct {
	fix    track.Fix
	static bool
	report StaticReport
}

// appendItems converts one message into what the engine takes. It reports
// whether the message was a position, and whether one was skipped for
// having no time.
func appendItems(buf []feedItem, m *ais.Message) (out []feedItem, position, untimed bool) {
	switch {
	case m.IsPosition():
		lat, lon, ok := m.LatLon()
		if !ok {
			return buf, false, false
		}
		if m.Time.IsZero() {
			return buf, false, true
		}
		sog, ok := m.SpeedKnots()
		if !ok {
			sog = math.NaN()
		}
		cog, ok := m.CourseDegrees()
		if !ok {
			cog = math.NaN()
		}
		buf = append(buf, feedItem{fix: track.Fix{MMSI: m.MMSI, Time: m.Time, Lat: lat, Lon: lon, SOG: sog, COG: cog, Source: m.Source}})
		if m.Type == 19 {
			buf = append(buf, feedItem{static: true, report: StaticOf(m)})
		}
		return buf, true, false
	case (m.Type == 5 || m.Type == 24) && !m.Time.IsZero():
		return append(buf, feedItem{static: true, report: StaticOf(m)}), false, false
	}
	return buf, false, false
}

func (e *Engine) take(items []feedItem) {
	for i := range items {
		if items[i].static {
			e.Static(items[i].report)
		} else {
			e.Position(items[i].fix)
		}
	}
}

// FeedAIS passes a source's position and static messages to the engine
// until the source ends, and returns how many positions it gave and how
// many it skipped for having no time, with the source's final error
// (io.EOF at a clean end).
func FeedAIS(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	var m ais.Message
	var buf []feedItem
	for {
		if err := src.Next(&m); err != nil {
			return positions, untimed, err
		}
		var pos, unt bool
		buf, pos, unt = appendItems(buf[:0], &m)
		if pos {
			positions++
		}
		if unt {
			untimed++
		}
		eng.take(buf)
	}
}

// FeedAISConcurrent does what FeedAIS does with decoding on a second
// goroutine, handing the engine batches in input order: decoding and
// detection then use two cores, and the events are the same.
func FeedAISConcurrent(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	const batch = 4096
	ch := make(chan []feedItem, 8)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		var m ais.Message
		buf := make([]feedItem, 0, batch)
		for {
			err := src.Next(&m)
			if err == nil {
				var pos, unt bool
				buf, pos, unt = appendItems(buf, &m)
				if pos {
					positions++
				}
				if unt {
					untimed++
				}
			}
			if len(buf) >= batch || (err != nil && len(buf) > 0) {
				ch <- buf
				buf = make([]feedItem, 0, batch)
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	for items := range ch {
		eng.take(items)
	}
	return positions, untimed, <-errc
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
