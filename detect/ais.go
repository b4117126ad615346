package detect

import (
	"errors"
	"math"
	"sync/atomic"

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

// decodeAIS decodes a source into fixes, handing each to put in input
// order, until the source ends or stop says the input will be read
// again. It returns the position and untimed counts with the source's
// final error (io.EOF at a clean end; ErrOutOfOrder when stopped). Both
// feeders use it, so they see the same fixes in the same order.
func decodeAIS(src ais.Source, put func(track.Fix), stop func() bool) (positions, untimed int64, err error) {
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
			put(fixes[i])
		}
		if stop() {
			return positions, untimed, ErrOutOfOrder
		}
	}
}

// ErrOutOfOrder ends a feed early when Engine.StopWhenLate is set and a fix
// came later than the reorder window: the input is not in time order and
// will be read again sorted whole, so reading the rest now is wasted.
var ErrOutOfOrder = errors.New("input not in time order")

// feedBatch puts decoded fixes through the reorder buffer and runs the
// detectors on the fixes it releases.
func (e *Engine) feedBatch(fixes []track.Fix) {
	emit := e.collector()
	for i := range fixes {
		e.reorder.Push(fixes[i], emit)
	}
	e.processReleased()
}

// collector returns the reorder buffer's emit function for the batched
// paths: it gathers released fixes and runs the detectors on them a
// batch at a time (so a flush of a whole sorted file is not held twice).
func (e *Engine) collector() func(track.Fix) {
	if e.collect == nil {
		e.collect = func(f track.Fix) {
			e.released = append(e.released, f)
			if len(e.released) == feedBatchSize {
				e.processReleased()
			}
		}
	}
	return e.collect
}

// processReleased runs the detectors on the gathered fixes.
func (e *Engine) processReleased() {
	e.processAll(e.released)
	clear(e.released) // drop the references the fixes hold
	e.released = e.released[:0]
}

// processAll runs the detectors on fixes in order, asking the processor
// to fetch each ship's tracker state a few fixes ahead (Tracker.Prefetch):
// at ten thousand ships that state is rarely in cache, and waiting for it
// link by link was most of the detectors' time (detection of the
// 10,000-ship day: 11.8 s of CPU to 8.1 s).
func (e *Engine) processAll(fixes []track.Fix) {
	// How far ahead each link of a ship's state is asked for: far enough
	// that it arrives before it is needed (a fix takes a few hundred
	// nanoseconds, a miss to memory about a hundred), near enough that it
	// is still in cache when used; each stage reads what the one before
	// fetched.
	const tableAhead, entryAhead, segmentAhead = 12, 6, 2
	for i := range fixes {
		if j := i + tableAhead; j < len(fixes) {
			e.tracker.Prefetch(fixes[j].MMSI, 0)
		}
		if j := i + entryAhead; j < len(fixes) {
			e.tracker.Prefetch(fixes[j].MMSI, 1)
		}
		if j := i + segmentAhead; j < len(fixes) {
			e.tracker.Prefetch(fixes[j].MMSI, 2)
		}
		e.process(fixes[i])
	}
}

// lateStop reports whether a feed should stop for a late fix.
func (e *Engine) lateStop() bool { return e.StopWhenLate && e.reorder.Late > 0 }

// feedBatchSize is how many decoded fixes go to the reorder buffer and the
// detectors at a time, and the size of the hand-over between goroutines.
const feedBatchSize = 4096

// FeedAIS passes a source's position and static messages to the engine
// until the source ends, and returns how many positions it gave and how
// many it skipped for having no time, with the source's final error
// (io.EOF at a clean end).
func FeedAIS(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	batch := make([]track.Fix, 0, feedBatchSize)
	put := func(f track.Fix) {
		batch = append(batch, f)
		if len(batch) == feedBatchSize {
			eng.feedBatch(batch)
			batch = batch[:0]
		}
	}
	positions, untimed, err = decodeAIS(src, put, eng.lateStop)
	eng.feedBatch(batch)
	if eng.lateStop() {
		err = ErrOutOfOrder // whatever else ended the read: it is read again, sorted
	}
	return positions, untimed, err
}

// FeedAISConcurrent does what FeedAIS does on two goroutines: one decodes,
// the other puts the fixes in event-time order through the engine's
// reorder buffer and runs the detectors, handed batches of decoded fixes.
// The detectors see the fixes in the same order as with FeedAIS, so the
// events are the same (TestConcurrentFeedSameEvents); decoding and
// reordering plus detection are about equal in cost, a core each. The
// engine must not be used by anything else until it returns.
func FeedAISConcurrent(eng *Engine, src ais.Source) (positions, untimed int64, err error) {
	return FeedAISConcurrentBatch(eng, src, feedBatchSize)
}

// FeedAISConcurrentBatch is FeedAISConcurrent handing over n fixes at a
// time: a fix waits for its batch to fill before the detectors see it, so
// a live feed watched for alerts wants small batches (at 5,000 messages a
// second a batch of 4,096 is 0.8 s of traffic).
func FeedAISConcurrentBatch(eng *Engine, src ais.Source, n int) (positions, untimed int64, err error) {
	pipe := batch.New[track.Fix](max(1, n))
	var stop atomic.Bool // set by the detectors' side, read by the decoder
	go func() {
		positions, untimed, err = decodeAIS(src, pipe.Put, stop.Load)
		pipe.Close()
	}()
	pipe.Drain(func(fixes []track.Fix) {
		if stop.Load() {
			return // the input will be read again: no need to detect
		}
		eng.feedBatch(fixes)
		if eng.lateStop() {
			stop.Store(true)
		}
	})
	// The results were written before the pipe was closed, so reading
	// them after Drain returns is ordered by its channel.
	if stop.Load() {
		err = ErrOutOfOrder // whatever else ended the read: it is read again, sorted
	}
	return positions, untimed, err
}

// StaticOf turns a static message (5, 19, 24) into a report.
func StaticOf(m *ais.Message) StaticReport {
	r := StaticReport{MMSI: m.MMSI, Time: track.TimeOf(m.Time), Name: m.ShipName, CallSign: m.CallSign, ShipType: m.ShipType,
		Destination: m.Destination, LengthM: int(m.ToBow) + int(m.ToStern), ClassB: m.Type != 5, Source: m.Source}
	if m.Type == 5 {
		r.IMO = m.IMO
		if r.IMO == imoNotAvailable {
			r.IMO = 0 // the 30-bit "not available": no IMO
		}
		if d, ok := m.DraughtMetres(); ok {
			r.Draught = d
		}
	}
	return r
}
