package detect

import (
	"errors"
	"math"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/internal/batch"
	"github.com/tidewatch/tidewatch/track"
)

// appendFixes converts one message into what the reorder buffer holds:
// a position fix, a static report riding in Fix.Extra (see staticFix), or
// both for a type 19. It reports whether the message was a position, and
// whether one was skipped for having no time.
func appendFixes(buf []track.Fix, m *ais.Message, sources *sourceExtras) (out []track.Fix, position, untimed bool) {
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
		buf = append(buf, track.Fix{MMSI: m.MMSI, Time: track.TimeOf(m.Time), Lat: lat, Lon: lon, SOG: sog, COG: cog, Extra: sources.of(m.Source)})
		if m.Type == 19 {
			buf = append(buf, staticFix(StaticOf(m)))
		}
		return buf, true, false
	case (m.Type == 5 || m.Type == 24) && !m.Time.IsZero():
		return append(buf, staticFix(StaticOf(m))), false, false
	}
	return buf, false, false
}

// sourceExtras hands out one shared track.Extra per source name.
type sourceExtras struct {
	last   *track.Extra
	byName map[string]*track.Extra
}

func (s *sourceExtras) of(name string) *track.Extra {
	if name == "" {
		return nil
	}
	if s.last != nil && s.last.Source == name {
		return s.last
	}
	x := s.byName[name]
	if x == nil {
		x = &track.Extra{Source: name}
		if s.byName == nil {
			s.byName = map[string]*track.Extra{}
		}
		if len(s.byName) < 4096 { // bounded whatever the input
			s.byName[name] = x
		}
	}
	s.last = x
	return x
}

// reorderAIS decodes a source into the engine's reorder buffer until the
// source ends, handing each fix the buffer releases to emit, and returns
// the position and untimed counts with the source's final error (io.EOF
// at a clean end). Both feeders use it, so they see the same fixes in the
// same order.
func (e *Engine) reorderAIS(src ais.Source, emit func(track.Fix)) (positions, untimed int64, err error) {
	var m ais.Message
	var fixes []track.Fix
	var sources sourceExtras
	for {
		if err := src.Next(&m); err != nil {
			return positions, untimed, err
		}
		var pos, unt bool
		fixes, pos, unt = appendFixes(fixes[:0], &m, &sources)
		if pos {
			positions++
		}
		if unt {
			untimed++
		}
		for i := range fixes {
			e.reorder.Push(fixes[i], emit)
		}
		if e.StopWhenLate && e.reorder.Late > 0 {
			return positions, untimed, ErrOutOfOrder
		}
	}
}

// ErrOutOfOrder ends a feed early when Engine.StopWhenLate is set and a fix
// came later than the reorder window: the input is not in time order and
// will be read again sorted whole, so reading the rest now is wasted.
var ErrOutOfOrder = errors.New("input not in time order")

// FeedAIS passes a source's position and static messages to the engine
// until the source ends, and returns how many positions it gave and how
// many it skipped for having no time, with the source's final error
// (io.EOF at a clean end).
func FeedAIS(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	return eng.reorderAIS(src, eng.process)
}

// FeedAISConcurrent does what FeedAIS does on two goroutines: one decodes
// and puts the fixes in event-time order through the engine's reorder
// buffer, the other runs the detectors on the ordered fixes, handed over
// in batches. Both stages see the fixes in the same order as FeedAIS, so
// the events are the same (TestConcurrentFeedSameEvents); the split puts
// decoding plus reordering and detection, about equal in cost, on a core
// each. The engine must not be used by anything else until it returns.
func FeedAISConcurrent(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	pipe := batch.New[track.Fix](4096)
	go func() {
		positions, untimed, err = eng.reorderAIS(src, pipe.Put)
		pipe.Close()
	}()
	pipe.Drain(func(fixes []track.Fix) {
		for i := range fixes {
			eng.process(fixes[i])
		}
	})
	// The results were written before the pipe was closed, so reading
	// them after Drain returns is ordered by its channel.
	return positions, untimed, err
}

// StaticOf turns a static message (5, 19, 24) into a report.
func StaticOf(m *ais.Message) StaticReport {
	r := StaticReport{MMSI: m.MMSI, Time: track.TimeOf(m.Time), Name: m.ShipName, CallSign: m.CallSign, ShipType: m.ShipType,
		Destination: m.Destination, LengthM: int(m.ToBow) + int(m.ToStern), ClassB: m.Type != 5, Source: m.Source}
	if m.Type == 5 {
		r.IMO = m.IMO
		if d, ok := m.DraughtMetres(); ok {
			r.Draught = d
		}
	}
	return r
}
