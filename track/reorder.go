package track

import (
	"cmp"
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
	// q is a ring (its length a power of two): a window of a busy feed
	// holds hundreds of thousands of fixes, and a ring never moves or
	// re-zeroes them as the window slides.
	q     []Fix
	qHead int
	qLen  int
	// pend gathers the fixes of the newest timestamp: feeds stamp whole
	// seconds, so many fixes share one, in no particular order. They are
	// sorted once the clock moves on and then join the queue.
	pend     []Fix
	order    []int32  // scratch for settle
	keys     []uint64 // scratch for settle
	pendTime Time
	h        fixHeap
	max      Time
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
	case len(r.pend) == 0 && !f.Time.Before(r.max), len(r.pend) > 0 && f.Time.After(r.pendTime):
		// The newest time (pending fixes always are: after a restore or
		// a flush they are empty while the clock is set, and an older
		// fix must not wait there for a clock that has moved on).
		r.settle()
		r.pend = append(r.pend, f)
		r.pendTime = f.Time
	default:
		r.enqueue(&f)
	}
	if f.Time.After(r.max) {
		r.max = f.Time
	}
	limit := r.max.Add(-r.Lateness)
	for {
		g := r.peek()
		if g == nil || !g.Time.Before(limit) {
			break
		}
		r.lastOut, r.hasLastOut = *g, true
		r.pop()
		emit(r.lastOut)
	}
}

// enqueue adds a fix to the queue if it keeps it ordered, else to the
// heap. An empty queue takes any fix: what is left in the heap is merged
// at the output.
func (r *Reorder) enqueue(f *Fix) {
	if r.qLen == 0 || fixCmp(&r.q[(r.qHead+r.qLen-1)&(len(r.q)-1)], f) < 0 {
		if r.qLen == len(r.q) {
			r.growQueue()
		}
		r.q[(r.qHead+r.qLen)&(len(r.q)-1)] = *f
		r.qLen++
		return
	}
	r.h.push(f)
}

// settle sorts the pending same-time fixes into the queue.
func (r *Reorder) settle() {
	if len(r.pend) == 0 {
		return
	}
	// The fixes of one second almost all have different MMSIs: sorting
	// keys of MMSI and index as plain integers (no comparison function
	// call, 8 bytes a swap instead of a whole Fix) orders them, and only
	// runs of one MMSI need the full comparison after it.
	r.keys = r.keys[:0]
	for i := range r.pend {
		r.keys = append(r.keys, uint64(r.pend[i].MMSI)<<32|uint64(i))
	}
	slices.Sort(r.keys)
	r.order = r.order[:0]
	for _, k := range r.keys {
		r.order = append(r.order, int32(uint32(k)))
	}
	for lo := 0; lo < len(r.order); {
		hi := lo + 1
		for hi < len(r.order) && r.keys[hi]>>32 == r.keys[lo]>>32 {
			hi++
		}
		if hi-lo > 1 {
			// Every pending fix has the same time, so the comparison starts after it.
			slices.SortFunc(r.order[lo:hi], func(i, j int32) int { return sameTimeCmp(&r.pend[i], &r.pend[j]) })
		}
		lo = hi
	}
	// The sorted run goes to the queue as a block when it is newer than
	// the queue's last fix (the usual case: a new second), else fix by fix.
	if r.qLen == 0 || fixCmp(&r.q[(r.qHead+r.qLen-1)&(len(r.q)-1)], &r.pend[r.order[0]]) < 0 {
		for r.qLen+len(r.order) > len(r.q) {
			r.growQueue()
		}
		mask := len(r.q) - 1
		for _, i := range r.order {
			r.q[(r.qHead+r.qLen)&mask] = r.pend[i]
			r.qLen++
		}
	} else {
		for _, i := range r.order {
			r.enqueue(&r.pend[i])
		}
	}
	clear(r.pend)
	r.pend = r.pend[:0]
}

// peek returns the smallest held fix, or nil (pending same-time fixes
// excepted: they are the newest and wait for the clock to move on or
// Flush). The pointer is valid until the next change to the buffer.
func (r *Reorder) peek() *Fix {
	hasQ, hasH := r.qLen > 0, r.h.Len() > 0
	switch {
	case hasQ && hasH:
		if fixCmp(&r.h[0], &r.q[r.qHead]) < 0 {
			return &r.h[0]
		}
		return &r.q[r.qHead]
	case hasQ:
		return &r.q[r.qHead]
	case hasH:
		return &r.h[0]
	}
	return nil
}

// pop removes what peek returned.
func (r *Reorder) pop() {
	hasQ, hasH := r.qLen > 0, r.h.Len() > 0
	if hasH && (!hasQ || fixCmp(&r.h[0], &r.q[r.qHead]) < 0) {
		r.h.pop()
		return
	}
	r.q[r.qHead] = Fix{} // let the GC have what the fix points to
	r.qHead = (r.qHead + 1) & (len(r.q) - 1)
	r.qLen--
}

// Flush emits everything held, in order.
func (r *Reorder) Flush(emit func(Fix)) {
	r.settle()
	for {
		g := r.peek()
		if g == nil {
			return
		}
		r.lastOut, r.hasLastOut = *g, true
		r.pop()
		emit(r.lastOut)
	}
}

// Held is the number of fixes in the buffer.
func (r *Reorder) Held() int { return r.qLen + r.h.Len() + len(r.pend) }

// growQueue doubles the ring, keeping its order.
func (r *Reorder) growQueue() {
	n := max(1024, 2*len(r.q))
	q := make([]Fix, n)
	for i := 0; i < r.qLen; i++ {
		q[i] = r.q[(r.qHead+i)&(len(r.q)-1)]
	}
	r.q, r.qHead = q, 0
}

// fixHeap is a binary min-heap of fixes in fixCmp order, written out
// rather than through container/heap: its interface boxed every fix
// pushed (an allocation of a whole Fix) and called through an interface
// at every comparison, and a file sorted by MMSI sends nearly every fix
// here.
type fixHeap []Fix

func (h fixHeap) Len() int { return len(h) }

func (h *fixHeap) push(f *Fix) {
	*h = append(*h, *f)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if fixCmp(&s[i], &s[parent]) >= 0 {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

// pop removes the smallest fix.
func (h *fixHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s[n] = Fix{} // let the GC have what the fix points to
	s = s[:n]
	*h = s
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && fixCmp(&s[r], &s[l]) < 0 {
			m = r
		}
		if fixCmp(&s[m], &s[i]) >= 0 {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
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
	// Static reports after the positions of the same MMSI and time, so
	// that what the report shows is placed where the ship was (a
	// MarineCadastre row is both, and its report carries no position).
	as, bs := a.Static(), b.Static()
	if (as == nil) != (bs == nil) {
		if as == nil {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.Lat, b.Lat); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Lon, b.Lon); c != 0 {
		return c
	}
	if c := cmp.Compare(nanLow(a.SOG), nanLow(b.SOG)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source(), b.Source()); c != 0 {
		return c
	}
	if as == nil {
		return 0
	}
	return strings.Compare(fmt.Sprint(as), fmt.Sprint(bs))
}

// fixLess is a total order on fixes: time, then MMSI, then positions
// before static reports, then position, speed and source.
func fixLess(a, b Fix) bool { return fixCmp(&a, &b) < 0 }

func nanLow(f float64) float64 {
	if math.IsNaN(f) {
		return -1
	}
	return f
}

// ReorderState is a reorder buffer's state for a checkpoint: the fixes
// it holds and its clock.
type ReorderState struct {
	// Fixes are the fixes held, in any order (State gives them unsorted;
	// Restore sorts them in place and, when the slice's capacity is a
	// power of two, keeps it as the buffer: a window of two million
	// fixes is then never copied).
	Fixes      []Fix
	Max        Time
	LastOut    Fix
	HasLastOut bool
	Late       int64
	Lateness   time.Duration
}

// State returns the buffer's clock, and its fixes unless fixes is false
// (EachHeld reads them without a copy).
func (r *Reorder) State(fixes bool) ReorderState {
	s := ReorderState{Max: r.max, LastOut: r.lastOut, HasLastOut: r.hasLastOut, Late: r.Late, Lateness: r.Lateness}
	if fixes {
		r.EachHeld(func(f *Fix) { s.Fixes = append(s.Fixes, *f) })
	}
	return s
}

// EachHeld calls fn for every fix held, in no particular order.
func (r *Reorder) EachHeld(fn func(*Fix)) {
	for i := 0; i < r.qLen; i++ {
		fn(&r.q[(r.qHead+i)&(len(r.q)-1)])
	}
	for i := range r.h {
		fn(&r.h[i])
	}
	for i := range r.pend {
		fn(&r.pend[i])
	}
}

// Restore replaces the buffer's state with s (taking s.Fixes): it then
// releases exactly what the buffer that took s would have.
func (r *Reorder) Restore(s ReorderState) {
	*r = Reorder{Lateness: s.Lateness, Late: s.Late, max: s.Max, lastOut: s.LastOut, hasLastOut: s.HasLastOut}
	slices.SortFunc(s.Fixes, func(a, b Fix) int { return fixCmp(&a, &b) })
	n := len(s.Fixes)
	if c := cap(s.Fixes); c >= 1024 && c&(c-1) == 0 {
		r.q = s.Fixes[:c]
	} else {
		for len(r.q) < n {
			r.growQueue()
		}
		copy(r.q, s.Fixes)
	}
	r.qLen = n
}

// SetLateness changes the window and releases, through emit, what is
// now older than it (a narrower window after a pass read sorted whole).
func (r *Reorder) SetLateness(d time.Duration, emit func(Fix)) {
	r.Lateness = d
	r.settle()
	limit := r.max.Add(-r.Lateness)
	for {
		g := r.peek()
		if g == nil || !g.Time.Before(limit) {
			return
		}
		r.lastOut, r.hasLastOut = *g, true
		r.pop()
		emit(r.lastOut)
	}
}
