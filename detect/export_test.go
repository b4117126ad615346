package detect

import "slices"

// Hooks for the external tests (package detect_test).

// EvictedRoutes is the number of evicted MMSIs whose IMO routes a
// sequencer keeps.
func (e *Engine) EvictedRoutes() int { return len(e.evictedRoutes) }

// CheckpointWithoutRouteClocks is the sequencer's checkpoint as the
// build before routes had a clock wrote it: each evicted MMSI's routes
// in one list, MMSI and partitions, and nothing after.
func (e *Engine) CheckpointWithoutRouteClocks() []byte {
	b := e.Checkpoint()
	x := &enc{}
	e.encodeRoutes(x)
	w := &enc{b: b[: len(b)-len(x.b) : len(b)-len(x.b)]}
	ms := make([]uint32, 0, len(e.evictedRoutes))
	for m := range e.evictedRoutes {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	w.u(uint64(len(ms)))
	for _, m := range ms {
		w.u(uint64(m))
		w.u(e.evictedRoutes[m].parts)
	}
	return w.b
}

// HasEvictedRoute says whether a sequencer keeps routes for the MMSI as
// an evicted one.
func (e *Engine) HasEvictedRoute(mmsi uint32) bool {
	_, ok := e.evictedRoutes[mmsi]
	return ok
}
