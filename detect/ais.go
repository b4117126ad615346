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
		e.reorder.Push(items[i].asFix(), e.process)
	}
}

// asFix is the item as the reorder buffer holds it: static reports ride
// in Fix.Static (see Engine.Static).
func (it *feedItem) asFix() track.Fix {
	if it.static {
		return track.Fix{MMSI: it.report.MMSI, Time: it.report.Time, Static: it.report}
	}
	return it.fix
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

// FeedAISConcurrent does what FeedAIS does on two goroutines: one decodes
// and puts the fixes in event-time order through the engine's reorder
// buffer, the other runs the detectors on the ordered fixes, handed over
// in batches. Both stages see the fixes in the same order as FeedAIS, so
// the events are the same (TestConcurrentFeedSameEvents); the split puts
// decoding plus reordering and detection, about equal in cost, on a core
// each. The engine must not be used by anything else until it returns.
func FeedAISConcurrent(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	const batch = 4096
	ch := make(chan []track.Fix, 8)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		var m ais.Message
		var items []feedItem
		out := make([]track.Fix, 0, batch)
		emit := func(f track.Fix) {
			out = append(out, f)
			if len(out) >= batch {
				ch <- out
				out = make([]track.Fix, 0, batch)
			}
		}
		for {
			err := src.Next(&m)
			if err != nil {
				if len(out) > 0 {
					ch <- out
				}
				errc <- err
				return
			}
			var pos, unt bool
			items, pos, unt = appendItems(items[:0], &m)
			if pos {
				positions++
			}
			if unt {
				untimed++
			}
			for i := range items {
				eng.reorder.Push(items[i].asFix(), emit)
			}
		}
	}()
	for fixes := range ch {
		for i := range fixes {
			eng.process(fixes[i])
		}
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
