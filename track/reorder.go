package track

import (
	"container/heap"
	"fmt"
	"math"
	"time"
)

// Reorder puts fixes that arrive out of order (satellite AIS is delivered
// minutes to hours late) back into event-time order, holding each for up to
// Lateness. Fixes older than the released watermark are counted as Late and
// dropped: they would rewrite history the detectors have already seen.
// Memory is bounded by the fixes of one lateness window.
//
// Ties in time are ordered by MMSI, position and speed, so the output
// order is a function of the set of fixes only: the same input in any
// order, split over any number of files, gives the same sequence.
type Reorder struct {
	Lateness time.Duration
	Late     int64
	h        fixHeap
	max      time.Time
	released time.Time
}

// NewReorder returns a buffer holding fixes for lateness.
func NewReorder(lateness time.Duration) *Reorder { return &Reorder{Lateness: lateness} }

// Push adds a fix and calls emit for every fix now older than the
// watermark (newest time seen minus Lateness), in order.
func (r *Reorder) Push(f Fix, emit func(Fix)) {
	if !r.released.IsZero() && f.Time.Before(r.released) {
		r.Late++
		return
	}
	heap.Push(&r.h, f)
	if f.Time.After(r.max) {
		r.max = f.Time
	}
	limit := r.max.Add(-r.Lateness)
	for r.h.Len() > 0 && r.h[0].Time.Before(limit) {
		g := heap.Pop(&r.h).(Fix)
		r.released = g.Time
		emit(g)
	}
}

// Flush emits everything held, in order.
func (r *Reorder) Flush(emit func(Fix)) {
	for r.h.Len() > 0 {
		g := heap.Pop(&r.h).(Fix)
		r.released = g.Time
		emit(g)
	}
}

// Held is the number of fixes in the buffer.
func (r *Reorder) Held() int { return r.h.Len() }

type fixHeap []Fix

func (h fixHeap) Len() int           { return len(h) }
func (h fixHeap) Less(i, j int) bool { return fixLess(h[i], h[j]) }
func (h fixHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fixHeap) Push(x any)        { *h = append(*h, x.(Fix)) }
func (h *fixHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// fixLess is a total order on fixes: time, then MMSI, then position,
// then speed and source.
func fixLess(a, b Fix) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if a.MMSI != b.MMSI {
		return a.MMSI < b.MMSI
	}
	if a.Lat != b.Lat {
		return a.Lat < b.Lat
	}
	if a.Lon != b.Lon {
		return a.Lon < b.Lon
	}
	// Static reports after positions of the same time.
	if (a.Static == nil) != (b.Static == nil) {
		return a.Static == nil
	}
	as, bs := nanLow(a.SOG), nanLow(b.SOG)
	if as != bs {
		return as < bs
	}
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	return fmt.Sprint(a.Static) < fmt.Sprint(b.Static)
}

func nanLow(f float64) float64 {
	if math.IsNaN(f) {
		return -1
	}
	return f
}
