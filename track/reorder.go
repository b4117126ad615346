package track

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"slices"
	"strings"
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
	// Fixes that arrive in order (the usual case) go to a queue; only
	// out-of-order ones pay for the heap. Output merges the two.
	q       []Fix
	qHead   int
	last    Fix
	hasLast bool
	// pend gathers the fixes of the newest timestamp: feeds stamp whole
	// seconds, so many fixes share one, in no particular order. They are
	// sorted once the clock moves on and then join the queue.
	pend     []Fix
	order    []int32 // scratch for settle
	pendTime time.Time
	h        fixHeap
	max      time.Time
	released time.Time // time of lastOut
	// lastOut is the last fix emitted: a fix that sorts before it is late.
	// Comparing in the total order, not by time alone, makes a run with no
	// late fixes emit exactly the sorted sequence.
	lastOut    Fix
	hasLastOut bool
}

// NewReorder returns a buffer holding fixes for lateness.
func NewReorder(lateness time.Duration) *Reorder { return &Reorder{Lateness: lateness} }

// Push adds a fix and calls emit for every fix now older than the
// watermark (newest time seen minus Lateness), in order.
func (r *Reorder) Push(f Fix, emit func(Fix)) {
	if r.hasLastOut && fixCmp(&f, &r.lastOut) < 0 {
		r.Late++
		return
	}
	switch {
	case len(r.pend) > 0 && f.Time.Equal(r.pendTime):
		r.pend = append(r.pend, f)
	case len(r.pend) == 0 || f.Time.After(r.pendTime):
		r.settle()
		r.pend = append(r.pend, f)
		r.pendTime = f.Time
	default:
		r.enqueue(f)
	}
	if f.Time.After(r.max) {
		r.max = f.Time
	}
	limit := r.max.Add(-r.Lateness)
	for {
		g, ok := r.peek()
		if !ok || !g.Time.Before(limit) {
			break
		}
		r.pop()
		r.released, r.lastOut, r.hasLastOut = g.Time, g, true
		emit(g)
	}
}

// enqueue adds a fix to the queue if it keeps it ordered, else to the heap.
func (r *Reorder) enqueue(f Fix) {
	if !r.hasLast || fixCmp(&r.last, &f) < 0 {
		r.q = append(r.q, f)
		r.last, r.hasLast = f, true
		return
	}
	heap.Push(&r.h, f)
}

// settle sorts the pending same-time fixes into the queue.
func (r *Reorder) settle() {
	if len(r.pend) == 0 {
		return
	}
	// Sorting indices moves 4 bytes per swap instead of a whole Fix.
	r.order = r.order[:0]
	for i := range r.pend {
		r.order = append(r.order, int32(i))
	}
	// Every pending fix has the same time, so the comparison starts after it.
	slices.SortFunc(r.order, func(i, j int32) int { return sameTimeCmp(&r.pend[i], &r.pend[j]) })
	for _, i := range r.order {
		r.enqueue(r.pend[i])
	}
	clear(r.pend)
	r.pend = r.pend[:0]
}

// peek returns the smallest held fix (pending same-time fixes excepted:
// they are the newest and wait for the clock to move on or Flush).
func (r *Reorder) peek() (Fix, bool) {
	hasQ, hasH := r.qHead < len(r.q), r.h.Len() > 0
	switch {
	case hasQ && hasH:
		if fixLess(r.h[0], r.q[r.qHead]) {
			return r.h[0], true
		}
		return r.q[r.qHead], true
	case hasQ:
		return r.q[r.qHead], true
	case hasH:
		return r.h[0], true
	}
	return Fix{}, false
}

// pop removes what peek returned.
func (r *Reorder) pop() {
	hasQ, hasH := r.qHead < len(r.q), r.h.Len() > 0
	if hasH && (!hasQ || fixLess(r.h[0], r.q[r.qHead])) {
		heap.Pop(&r.h)
		return
	}
	r.q[r.qHead] = Fix{} // let the GC have the strings
	r.qHead++
	if r.qHead == len(r.q) {
		r.q, r.qHead = r.q[:0], 0
	} else if r.qHead > 4096 && r.qHead > len(r.q)/2 {
		n := copy(r.q, r.q[r.qHead:])
		r.q, r.qHead = r.q[:n], 0
	}
}

// Flush emits everything held, in order.
func (r *Reorder) Flush(emit func(Fix)) {
	r.settle()
	for {
		g, ok := r.peek()
		if !ok {
			return
		}
		r.pop()
		r.released, r.lastOut, r.hasLastOut = g.Time, g, true
		emit(g)
	}
}

// Held is the number of fixes in the buffer.
func (r *Reorder) Held() int { return len(r.q) - r.qHead + r.h.Len() + len(r.pend) }

type fixHeap []Fix

func (h fixHeap) Len() int           { return len(h) }
func (h fixHeap) Less(i, j int) bool { return fixCmp(&h[i], &h[j]) < 0 }
func (h fixHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fixHeap) Push(x any)        { *h = append(*h, x.(Fix)) }
func (h *fixHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func fixCmp(a, b *Fix) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return sameTimeCmp(a, b)
}

// sameTimeCmp is fixCmp for two fixes of the same time.
func sameTimeCmp(a, b *Fix) int {
	if c := cmp.Compare(a.MMSI, b.MMSI); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Lat, b.Lat); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Lon, b.Lon); c != 0 {
		return c
	}
	// Static reports after positions of the same time.
	if (a.Static == nil) != (b.Static == nil) {
		if a.Static == nil {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(nanLow(a.SOG), nanLow(b.SOG)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	if a.Static == nil {
		return 0
	}
	return strings.Compare(fmt.Sprint(a.Static), fmt.Sprint(b.Static))
}

// fixLess is a total order on fixes: time, then MMSI, then position,
// then static after position reports, speed and source.
func fixLess(a, b Fix) bool { return fixCmp(&a, &b) < 0 }

func nanLow(f float64) float64 {
	if math.IsNaN(f) {
		return -1
	}
	return f
}
