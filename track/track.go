// Package track turns a stream of position reports into per-vessel tracks
// in event time. One MMSI can be broadcast by several ships at once
// (shared, spoofed or mistyped identities); the tracker splits it into
// segments, one per ship really using it: a fix joins the open segment it
// can be reached from at a plausible speed, or starts a new one. Memory is
// bounded by the number of active segments, not by the input.
package track

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"
	"unsafe"

	"github.com/tidewatch/tidewatch/geo"
)

// Fix is one position report.
type Fix struct {
	MMSI uint32
	Time Time
	Lat  float64
	Lon  float64
	SOG  float64 // knots; NaN when the report had none
	COG  float64 // degrees; NaN when none
	// Extra is what few readers of a fix need; nil for a position with
	// no source.
	Extra *Extra
}

// Extra is where a fix came from and, when the fix is a static report
// travelling in time order with the positions, the report (the tracker
// ignores those). The positions of one source share one Extra, so a fix
// is 56 bytes: fixes are copied through the reorder window, the hand-over
// between goroutines and the detectors' runs, and their size showed in
// the speed (a fix 64 bytes larger made detection 12-15% slower).
type Extra struct {
	Source string // the receiving station (tag block s:), when known
	Static any
}

// Source is the receiving station, or "".
func (f *Fix) Source() string {
	if f.Extra == nil {
		return ""
	}
	return f.Extra.Source
}

// Static is the static report the fix carries, or nil for a position.
func (f *Fix) Static() any {
	if f.Extra == nil {
		return nil
	}
	return f.Extra.Static
}

// HasSOG reports whether the fix carries a speed over ground.
func (f Fix) HasSOG() bool { return !math.IsNaN(f.SOG) }

// Valid reports a usable position: in range, not the (0,0) "null island"
// that broken receivers emit, and with a time.
func (f Fix) Valid() bool {
	return !f.Time.IsZero() && f.Lat >= -90 && f.Lat <= 90 && f.Lon >= -180 && f.Lon <= 180 && !(f.Lat == 0 && f.Lon == 0)
}

// Segment is one ship's track under an MMSI, with D, the caller's state
// for it, held inline: one allocation and one pointer per segment, where
// an interface to separate state cost a second cache miss per fix.
type Segment[D any] struct {
	MMSI  uint32
	ID    int // per MMSI, in order of creation
	Fixes int
	Last  Fix
	// Data is the caller's per-segment state, so it needs no map of its
	// own (the detectors keep theirs here). It starts zero.
	Data D
}

// Config tunes segmentation.
type Config struct {
	// MaxSpeedKn: a fix that would need more than this from a segment's
	// last fix does not belong to it (default 30 kn).
	MaxSpeedKn float64
	// MaxOpen bounds open segments per MMSI (default 8); the least
	// recently updated is closed to make room.
	MaxOpen int
	// Expire closes a segment with no fix for this long in event time
	// (default 72 h): a ship silent that long starts a new segment.
	Expire time.Duration
	// MinInterval is the shortest interval a speed is computed over
	// (default 2 min): receive times jitter (satellite AIS is stamped on
	// the ground, in batches), so two fixes a few seconds apart may be
	// minutes apart in truth.
	MinInterval time.Duration
	// MaxVessels caps the MMSIs tracked at once (default 250,000).
	// Adding one more evicts the idlest sixteenth (by the event time
	// each was last heard): their segments close, Evicted sees their
	// state, and each is forgotten. A vessel heard again after eviction
	// is a new vessel: its segments are numbered from 0 again. Eviction
	// bounds memory whatever the input (a flood of distinct MMSIs) and
	// never happens below the cap.
	MaxVessels int
}

// DefaultConfig is the published-method default: 30 knots is above any
// merchant ship's speed, as GFW's and DMA's trackers use.
var DefaultConfig = Config{MaxSpeedKn: 30, MaxOpen: 8, Expire: 72 * time.Hour, MinInterval: 2 * time.Minute, MaxVessels: 250_000}

// Tracker assigns fixes to segments. Fixes must come in event-time order
// (see Reorder); a fix older than its segment's last fix is a duplicate
// or a late arrival and is reported as such, never used to go backwards.
// D is the caller's state per segment, V per MMSI; both are held inline
// (one allocation per segment, none per MMSI beyond its table entry).
type Tracker[D, V any] struct {
	cfg Config
	// ids maps an MMSI to its entry in vessels: the open segments, the
	// next segment ID and the caller's state. Entries stay after their
	// segments close, until evicted (MaxVessels).
	ids     *mmsiTable
	vessels []vesselEntry[D, V]
	free    []int32 // entries evicted, to reuse
	open    int     // open segments in all
	now     Time
	sweepAt Time
	// minDt is cfg.MinInterval in hours.
	minDt float64
	// evicting guards against eviction re-entering from the callbacks.
	evicting  bool
	evictions int64
	// Closed receives segments as they close (expired, pushed out by
	// MaxOpen, evicted with their vessel, or flushed).
	Closed func(*Segment[D])
	// Evicted, when set, sees a vessel's state as it is evicted (after
	// its segments were closed), before the entry is forgotten.
	Evicted func(mmsi uint32, v *V)
}

// NewTracker returns a tracker with cfg (zero fields take defaults).
func NewTracker[D, V any](cfg Config) *Tracker[D, V] {
	if cfg.MaxSpeedKn == 0 {
		cfg.MaxSpeedKn = DefaultConfig.MaxSpeedKn
	}
	if cfg.MaxOpen == 0 {
		cfg.MaxOpen = DefaultConfig.MaxOpen
	}
	if cfg.Expire == 0 {
		cfg.Expire = DefaultConfig.Expire
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = DefaultConfig.MinInterval
	}
	if cfg.MaxVessels <= 0 {
		cfg.MaxVessels = DefaultConfig.MaxVessels
	}
	return &Tracker[D, V]{cfg: cfg, ids: newMMSITable(), minDt: cfg.MinInterval.Hours()}
}

type vesselEntry[D, V any] struct {
	mmsi   uint32
	nextID int32
	// seen is the event time the MMSI was last heard (Add, Seen): what
	// eviction goes by.
	seen Time
	segs []*Segment[D]
	data V
}

// Index returns a dense index for the MMSI, creating its entry: stable
// until the MMSI is evicted (MaxVessels), after which the index may
// serve another MMSI. Creating an entry may evict others first.
func (t *Tracker[D, V]) Index(mmsi uint32) int {
	i := t.ids.get(mmsi)
	if i < 0 {
		if t.Tracked() >= t.cfg.MaxVessels && !t.evicting {
			t.evict()
		}
		if n := len(t.free); n > 0 {
			i = t.free[n-1]
			t.free = t.free[:n-1]
			t.vessels[i] = vesselEntry[D, V]{mmsi: mmsi}
		} else {
			i = int32(len(t.vessels))
			t.vessels = append(t.vessels, vesselEntry[D, V]{mmsi: mmsi})
		}
		t.ids.put(mmsi, i)
	}
	return int(i)
}

// Lookup returns the MMSI's index, or -1 when it has no entry.
func (t *Tracker[D, V]) Lookup(mmsi uint32) int { return int(t.ids.get(mmsi)) }

// Data returns the caller's state of the vessel at index i (Index). The
// pointer is valid until the next call that may create an entry.
func (t *Tracker[D, V]) Data(i int) *V { return &t.vessels[i].data }

// MMSIOf returns the MMSI at index i.
func (t *Tracker[D, V]) MMSIOf(i int) uint32 { return t.vessels[i].mmsi }

// Seen records that the MMSI at index i was heard at time at (a static
// report, say): eviction spares the recently heard.
func (t *Tracker[D, V]) Seen(i int, at Time) {
	if at.After(t.vessels[i].seen) {
		t.vessels[i].seen = at
	}
}

// Tracked is the number of MMSIs with an entry.
func (t *Tracker[D, V]) Tracked() int { return len(t.vessels) - len(t.free) }

// Evictions is the number of vessels evicted so far to stay under
// MaxVessels.
func (t *Tracker[D, V]) Evictions() int64 { return t.evictions }

// Each calls fn for every tracked vessel, in index order.
func (t *Tracker[D, V]) Each(fn func(i int, mmsi uint32, v *V)) {
	for i := range t.vessels {
		if e := &t.vessels[i]; e.mmsi != 0 || t.ids.zero == int32(i) {
			fn(i, e.mmsi, &e.data)
		}
	}
}

// evict forgets the idlest sixteenth of the tracked vessels (by the time
// each was last heard; ties in index order), closing their segments in
// MMSI order first.
func (t *Tracker[D, V]) evict() {
	t.evicting = true
	defer func() { t.evicting = false }()
	n := t.Tracked()
	k := max(1, n/16)
	seen := make([]int64, 0, n)
	live := func(i int) bool { return t.vessels[i].mmsi != 0 || t.ids.zero == int32(i) }
	for i := range t.vessels {
		if live(i) {
			seen = append(seen, int64(t.vessels[i].seen))
		}
	}
	slices.Sort(seen)
	limit := Time(seen[k-1])
	var victims []int32
	for i := range t.vessels {
		if live(i) && t.vessels[i].seen.Before(limit) {
			victims = append(victims, int32(i))
		}
	}
	for i := range t.vessels {
		if len(victims) >= k {
			break
		}
		if live(i) && t.vessels[i].seen == limit {
			victims = append(victims, int32(i))
		}
	}
	slices.SortFunc(victims, func(a, b int32) int { return cmp.Compare(t.vessels[a].mmsi, t.vessels[b].mmsi) })
	for _, i := range victims {
		t.drop(i)
	}
}

// drop forgets the vessel at index i: its segments close, Evicted sees
// its state, and its entry is freed.
func (t *Tracker[D, V]) drop(i int32) {
	v := &t.vessels[i]
	segs := v.segs
	v.segs = nil
	t.open -= len(segs)
	for _, s := range segs {
		t.close(s)
	}
	// The callbacks may have created entries (none are evicted
	// meanwhile): look the vessel up again.
	v = &t.vessels[i]
	if t.Evicted != nil {
		t.Evicted(v.mmsi, &v.data)
		v = &t.vessels[i]
	}
	t.ids.del(v.mmsi)
	*v = vesselEntry[D, V]{}
	t.free = append(t.free, i)
	t.evictions++
}

// Following another tracker. A tracker can follow the decisions another
// made (a vessel worker following its sequencer's, docs/scale.md):
// Place, CloseSegment and Drop apply what the other's Track, Closed and
// Evicted said, so the follower holds the same open segments, in the
// same order, for the MMSIs it is given, without judging anything
// itself. A follower never sweeps or evicts on its own (give it a
// MaxVessels it never reaches).

// Place applies a fix the leading tracker put on segment id of its MMSI,
// starting that segment (started) or extending it, and returns what
// Track returned there. It returns Invalid, changing nothing, when the
// segment is not open here (started: when it already is): the leader's
// stream and this state disagree.
func (t *Tracker[D, V]) Place(f Fix, id int, started bool) (*Segment[D], *V, Fix, Result) {
	if f.Time.After(t.now) {
		t.now = f.Time
	}
	i := t.ids.get(f.MMSI)
	var s *Segment[D]
	if i >= 0 {
		for _, o := range t.vessels[i].segs {
			if o.ID == id {
				s = o
				break
			}
		}
	}
	if started == (s != nil) || (!started && i < 0) {
		return nil, nil, Fix{}, Invalid
	}
	v := t.entry(f.MMSI)
	if f.Time.After(v.seen) {
		v.seen = f.Time
	}
	if started {
		s = &Segment[D]{MMSI: f.MMSI, ID: id, Last: f, Fixes: 1}
		v.nextID = max(v.nextID, int32(id)+1)
		v.segs = append(v.segs, s)
		t.open++
		return s, &v.data, Fix{}, Started
	}
	prev := s.Last
	s.Last = f
	s.Fixes++
	return s, &v.data, prev, Extended
}

// CloseSegment closes the MMSI's open segment id as the leader did: it
// leaves the open segments (the others keep their order) and Closed sees
// it. It reports whether the segment was open.
func (t *Tracker[D, V]) CloseSegment(mmsi uint32, id int) bool {
	i := t.ids.get(mmsi)
	if i < 0 {
		return false
	}
	v := &t.vessels[i]
	for k, s := range v.segs {
		if s.ID == id {
			n := len(v.segs)
			copy(v.segs[k:], v.segs[k+1:])
			v.segs[n-1] = nil
			v.segs = v.segs[:n-1]
			if len(v.segs) == 0 {
				v.segs = nil
			}
			t.open--
			t.close(s)
			return true
		}
	}
	return false
}

// Drop forgets the MMSI as the leader's eviction did: its segments still
// open close, Evicted sees its state, and it is forgotten (heard again,
// it is a new vessel). It reports whether the MMSI had an entry.
func (t *Tracker[D, V]) Drop(mmsi uint32) bool {
	i := t.ids.get(mmsi)
	if i < 0 {
		return false
	}
	t.drop(i)
	return true
}

// Prefetch starts loading, without waiting for it, the state the next Add
// of mmsi will read, one step of the chain at a time: call it with
// stage 0 several fixes ahead of Add (the MMSI table slot), stage 1 a
// few fixes later (the MMSI's entry, found through the slot now in
// cache) and stage 2 just before Add (its segment). With ten thousand
// ships that state is rarely in cache, and a fix waiting for each link
// in turn spent most of its time waiting.
func (t *Tracker[D, V]) Prefetch(mmsi uint32, stage int) {
	switch stage {
	case 0:
		if mmsi != 0 {
			prefetch(unsafe.Pointer(&t.ids.slots[t.ids.slot(mmsi)]))
		}
	case 1:
		if i := t.ids.get(mmsi); i >= 0 {
			prefetch(unsafe.Pointer(&t.vessels[i]))
		}
	case 2:
		if i := t.ids.get(mmsi); i >= 0 {
			if segs := t.vessels[i].segs; len(segs) > 0 {
				prefetch3(unsafe.Pointer(segs[0])) // the header, the last fix and the hot state
			}
		}
	}
}

// entry returns the MMSI's entry, creating it.
func (t *Tracker[D, V]) entry(mmsi uint32) *vesselEntry[D, V] { return &t.vessels[t.Index(mmsi)] }

// Result says what happened to a fix.
type Result int

const (
	// Extended: the fix continued an open segment.
	Extended Result = iota
	// Started: the fix started a new segment (first sighting, or no open
	// segment reachable at a plausible speed).
	Started
	// Stale: the fix is not newer than its segment's last fix (duplicate
	// or late); it was not applied.
	Stale
	// Invalid: the position is unusable.
	Invalid
)

// Add assigns a fix. It returns the segment and the fix's previous fix on
// that segment (zero Time when the segment is new).
func (t *Tracker[D, V]) Add(f Fix) (*Segment[D], Fix, Result) {
	s, _, prev, r := t.Track(f)
	return s, prev, r
}

// Track is Add that also returns the caller's state of the fix's MMSI
// (nil for an invalid fix), valid until the next call that may create an
// entry.
func (t *Tracker[D, V]) Track(f Fix) (*Segment[D], *V, Fix, Result) {
	if !f.Valid() {
		return nil, nil, Fix{}, Invalid
	}
	if f.Time.After(t.now) {
		t.now = f.Time
	}
	t.sweep()
	v := t.entry(f.MMSI)
	if f.Time.After(v.seen) {
		v.seen = f.Time
	}
	segs := v.segs
	var best *Segment[D]
	bestD := math.Inf(1)
	for _, s := range segs {
		dt := f.Time.Sub(s.Last.Time).Hours()
		if len(segs) == 1 && dt > 0 {
			// The usual case: one segment and a fix a few hundred metres
			// on. If even the distance's upper bound is within the
			// reachable distance, the haversine cannot change the answer
			// (a hair of margin keeps rounding out of it).
			reach := 500 + t.cfg.MaxSpeedKn*geo.NauticalMile*math.Max(dt, t.minDt)
			if geo.DistanceBound(s.Last.Lat, s.Last.Lon, f.Lat, f.Lon)*(1+1e-9) < reach {
				best = s
				break
			}
		}
		d := geo.Distance(s.Last.Lat, s.Last.Lon, f.Lat, f.Lon)
		if dt <= 0 {
			// Same time or older: a duplicate or a late report of this
			// ship if it is where the ship was.
			if d < 1000 {
				return s, &v.data, s.Last, Stale
			}
			continue
		}
		// Positions are a few metres apart for a moored ship: allow 500 m
		// of noise before a speed is implied. Receive times jitter by a
		// minute or more (satellite AIS is stamped on the ground, in
		// batches), so no interval counts as shorter than MinInterval.
		if kn := math.Max(0, d-500) / geo.NauticalMile / math.Max(dt, t.minDt); kn <= t.cfg.MaxSpeedKn && d < bestD {
			best, bestD = s, d
		}
	}
	if best != nil {
		prev := best.Last
		best.Last = f
		best.Fixes++
		return best, &v.data, prev, Extended
	}
	if len(segs) >= t.cfg.MaxOpen {
		// Evict the least recently updated.
		oldest := 0
		for i, s := range segs {
			if s.Last.Time.Before(segs[oldest].Last.Time) {
				oldest = i
			}
		}
		t.close(segs[oldest])
		segs = append(segs[:oldest], segs[oldest+1:]...)
		t.open--
		// The Closed callback may have indexed other MMSIs, moving the
		// entries: look this one up again.
		v = t.entry(f.MMSI)
	}
	s := &Segment[D]{MMSI: f.MMSI, ID: int(v.nextID), Last: f, Fixes: 1}
	v.nextID++
	v.segs = append(segs, s)
	t.open++
	return s, &v.data, Fix{}, Started
}

// Open returns the open segments of an MMSI.
func (t *Tracker[D, V]) Open(mmsi uint32) []*Segment[D] {
	if i := t.ids.get(mmsi); i >= 0 {
		return t.vessels[i].segs
	}
	return nil
}

// Active is the number of open segments: the tracker's memory.
func (t *Tracker[D, V]) Active() int { return t.open }

func (t *Tracker[D, V]) close(s *Segment[D]) {
	if t.Closed != nil {
		t.Closed(s)
	}
}

// sweep closes expired segments once per event-time hour, in MMSI order
// so that whatever the Closed callback emits comes out the same every run.
func (t *Tracker[D, V]) sweep() {
	if t.now.Before(t.sweepAt) {
		return
	}
	t.sweepAt = t.now.Add(time.Hour)
	var expired []*Segment[D]
	for i := range t.vessels {
		v := &t.vessels[i]
		if len(v.segs) == 0 {
			continue
		}
		kept := v.segs[:0]
		for _, s := range v.segs {
			if t.now.Sub(s.Last.Time) > t.cfg.Expire {
				expired = append(expired, s)
				continue
			}
			kept = append(kept, s)
		}
		clear(v.segs[len(kept):])
		if len(kept) == 0 {
			kept = nil // free the slice of a ship gone silent
		}
		t.open -= len(v.segs) - len(kept)
		v.segs = kept
	}
	sortSegments(expired)
	for _, s := range expired {
		t.close(s)
	}
}

// Flush closes every open segment, in MMSI order (end of input).
func (t *Tracker[D, V]) Flush() {
	var all []*Segment[D]
	for i := range t.vessels {
		all = append(all, t.vessels[i].segs...)
		t.vessels[i].segs = nil
	}
	t.open = 0
	sortSegments(all)
	for _, s := range all {
		t.close(s)
	}
}

func sortSegments[D any](s []*Segment[D]) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].MMSI != s[j].MMSI {
			return s[i].MMSI < s[j].MMSI
		}
		return s[i].ID < s[j].ID
	})
}
