package track

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"
)

var t0 = TimeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))

func fix(mmsi uint32, minutes int, lat, lon float64) Fix {
	return Fix{MMSI: mmsi, Time: t0.Add(time.Duration(minutes) * time.Minute), Lat: lat, Lon: lon, SOG: 10, COG: math.NaN()}
}

// One MMSI broadcast by two ships 300 km apart becomes two segments; each
// ship's later fixes extend its own segment.
func TestSharedMMSISplits(t *testing.T) {
	tr := NewTracker[struct{}, struct{}](Config{})
	a := []Fix{fix(445000001, 0, 38.5, 124.8), fix(445000001, 10, 38.52, 124.82), fix(445000001, 20, 38.54, 124.84)}
	b := []Fix{fix(445000001, 5, 31.0, 124.0), fix(445000001, 15, 31.02, 124.02)}
	order := []Fix{a[0], b[0], a[1], b[1], a[2]}
	var ids []int
	for _, f := range order {
		s, _, _ := tr.Add(f)
		ids = append(ids, s.ID)
	}
	if want := []int{0, 1, 0, 1, 0}; !equal(ids, want) {
		t.Errorf("segments %v, want %v", ids, want)
	}
	if len(tr.Open(445000001)) != 2 {
		t.Errorf("%d open segments", len(tr.Open(445000001)))
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDuplicatesAndInvalid(t *testing.T) {
	tr := NewTracker[struct{}, struct{}](Config{})
	f := fix(1, 0, 10, 10)
	tr.Add(f)
	if _, _, r := tr.Add(f); r != Stale {
		t.Errorf("duplicate: %v", r)
	}
	if _, _, r := tr.Add(fix(1, 0, 0, 0)); r != Invalid {
		t.Errorf("null island: %v", r)
	}
	if _, _, r := tr.Add(Fix{MMSI: 1, Lat: 91, Lon: 10, Time: t0}); r != Invalid {
		t.Errorf("lat 91: %v", r)
	}
	_, prev, r := tr.Add(fix(1, 60, 10.1, 10))
	if r != Extended || !prev.Time.Equal(f.Time) {
		t.Errorf("extend: %v %v", r, prev.Time)
	}
}

// Memory follows the active ships: segments expire in event time.
func TestExpiryBoundsMemory(t *testing.T) {
	tr := NewTracker[struct{}, struct{}](Config{Expire: 2 * time.Hour})
	closed := 0
	tr.Closed = func(*Segment[struct{}]) { closed++ }
	for i := 0; i < 10000; i++ {
		// Each ship reports once; time moves on a minute per ship.
		tr.Add(fix(uint32(200000000+i), i, 10+float64(i%100)*0.01, 10))
		if tr.Active() > 200 {
			t.Fatalf("%d active segments at ship %d", tr.Active(), i)
		}
	}
	tr.Flush()
	if closed != 10000 {
		t.Errorf("%d closed", closed)
	}
}

// The reorder buffer gives the same sequence whatever order the fixes
// arrive in, as long as they are no later than the lateness.
func TestReorderDeterministic(t *testing.T) {
	var fixes []Fix
	for i := 0; i < 500; i++ {
		fixes = append(fixes, fix(uint32(1+i%7), i/3, 10+float64(i%11)*0.01, 20))
	}
	run := func(in []Fix) []Fix {
		r := NewReorder(3 * time.Hour)
		var out []Fix
		for _, f := range in {
			r.Push(f, func(g Fix) { out = append(out, g) })
		}
		r.Flush(func(g Fix) { out = append(out, g) })
		return out
	}
	want := run(fixes)
	rng := rand.New(rand.NewSource(2))
	for k := 0; k < 5; k++ {
		sh := append([]Fix(nil), fixes...)
		rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		got := run(sh)
		if len(got) != len(want) {
			t.Fatalf("%d vs %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] && !(got[i].Time.Equal(want[i].Time) && got[i].MMSI == want[i].MMSI && got[i].Lat == want[i].Lat) {
				t.Fatalf("shuffle %d differs at %d", k, i)
			}
		}
	}
	for i := 1; i < len(want); i++ {
		if want[i].Time.Before(want[i-1].Time) {
			t.Fatal("not in time order")
		}
	}
	// A fix later than the lateness is counted and dropped.
	r := NewReorder(time.Hour)
	r.Push(fix(1, 0, 1, 1), func(Fix) {})
	r.Push(fix(1, 300, 1, 1), func(Fix) {})
	r.Push(fix(2, -5, 1, 1), func(Fix) {}) // older than what was already released
	if r.Late != 1 {
		t.Errorf("late %d", r.Late)
	}
}

// Fixes stamped in whole seconds arrive in any order within a second; the
// output is the same total order whatever that arrival order. Each MMSI
// reports twice a second here (two ships sharing it), so the ties the
// MMSI does not break are ordered too.
func TestReorderSameSecond(t *testing.T) {
	var in []Fix
	for s := 0; s < 50; s++ {
		for m := 0; m < 20; m++ {
			in = append(in, Fix{MMSI: uint32(100 + (m*7)%10), Time: t0.Add(time.Duration(s) * time.Second), Lat: float64(m), Lon: 1, SOG: 1})
		}
	}
	run := func(in []Fix) []Fix {
		r := NewReorder(5 * time.Second)
		var out []Fix
		for _, f := range in {
			r.Push(f, func(g Fix) { out = append(out, g) })
		}
		r.Flush(func(g Fix) { out = append(out, g) })
		return out
	}
	want := run(in)
	rng := rand.New(rand.NewSource(9))
	for k := 0; k < 5; k++ {
		sh := append([]Fix(nil), in...)
		// Shuffle within each second only.
		for s := 0; s < 50; s++ {
			seg := sh[s*20 : s*20+20]
			rng.Shuffle(len(seg), func(i, j int) { seg[i], seg[j] = seg[j], seg[i] })
		}
		got := run(sh)
		for i := range got {
			if got[i].MMSI != want[i].MMSI || !got[i].Time.Equal(want[i].Time) || got[i].Lat != want[i].Lat {
				t.Fatalf("order differs at %d", i)
			}
		}
	}
	for i := 1; i < len(want); i++ {
		if fixLess(want[i], want[i-1]) {
			t.Fatalf("not sorted at %d", i)
		}
	}
}

// BenchmarkReorder pushes a realistic stream through the buffer: 10,000
// ships reporting once a minute, whole-second stamps, 2% of fixes up to
// five minutes late.
func BenchmarkReorder(b *testing.B) { benchReorder(b, 50, 5*time.Minute, 10*time.Minute) }

// benchReorder pushes 200,000 fixes of 10,000 ships, 167 a second, one
// in lateOneIn up to maxLate late, through a window of lateness.
func benchReorder(b *testing.B, lateOneIn int, maxLate, lateness time.Duration) {
	t0 := TimeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	rng := rand.New(rand.NewSource(1))
	fixes := make([]Fix, 0, 200000)
	sim := &Extra{Source: "sim"}
	for i := 0; i < cap(fixes); i++ {
		tm := t0.Add(time.Duration(i/167) * time.Second)
		if rng.Intn(lateOneIn) == 0 {
			tm = tm.Add(-time.Duration(rng.Int63n(int64(maxLate)/int64(time.Second))) * time.Second)
		}
		fixes = append(fixes, Fix{MMSI: uint32(412000000 + rng.Intn(10000)), Time: tm, Lat: 35 + rng.Float64(), Lon: 124 + rng.Float64(), SOG: 10, COG: 90, Extra: sim})
	}
	n := 0
	for b.Loop() {
		r := NewReorder(lateness)
		for i := range fixes {
			r.Push(fixes[i], func(Fix) { n++ })
		}
		r.Flush(func(Fix) { n++ })
	}
	b.ReportMetric(float64(len(fixes))*float64(b.N)/b.Elapsed().Seconds(), "fixes/s")
}

// The heap gives back every fix it was given, smallest first.
func TestFixHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	var h fixHeap
	var in []Fix
	for i := 0; i < 2000; i++ {
		f := fix(uint32(1+rng.Intn(20)), rng.Intn(300), float64(rng.Intn(5)), 1)
		in = append(in, f)
		h.push(&f)
		if rng.Intn(4) == 0 { // interleave pops with pushes
			min := h[0]
			for _, g := range h {
				if fixLess(g, min) {
					t.Fatal("heap top is not the smallest")
				}
			}
		}
	}
	var out []Fix
	for h.Len() > 0 {
		out = append(out, h[0])
		h.pop()
	}
	if len(out) != len(in) {
		t.Fatalf("%d out of %d in", len(out), len(in))
	}
	for i := 1; i < len(out); i++ {
		if fixLess(out[i], out[i-1]) {
			t.Fatalf("out of order at %d", i)
		}
	}
}

// Evictions, expiry and a ship coming back keep every MMSI's list of open
// segments right.
func TestOpenSegmentListsStayRight(t *testing.T) {
	for _, maxOpen := range []int{1, 2, 8} {
		tr := NewTracker[int, struct{}](Config{MaxOpen: maxOpen, Expire: 3 * time.Hour})
		var closed []*Segment[int]
		tr.Closed = func(s *Segment[int]) { closed = append(closed, s) }
		// Ships far apart under one MMSI, so each starts a segment;
		// then silence long enough to expire them; then one ship again.
		places := []float64{10, 20, 30, 40}
		minute := 0
		for round := 0; round < 3; round++ {
			for _, lat := range places {
				s, _, r := tr.Add(fix(7, minute, lat, 100))
				minute++
				s.Data++
				if r == Invalid || s.Last.Lat != lat {
					t.Fatalf("max %d: fix at %v went to a segment at %v", maxOpen, lat, s.Last.Lat)
				}
			}
		}
		open := tr.Open(7)
		if want := min(maxOpen, len(places)); len(open) != want {
			t.Fatalf("max %d: %d open, want %d", maxOpen, len(open), want)
		}
		for _, s := range open {
			for _, c := range closed {
				if s == c {
					t.Fatalf("max %d: a closed segment is still listed", maxOpen)
				}
			}
		}
		tr.Add(fix(7, minute+10*60, 50, 100)) // after the expiry: everything else closes
		if open := tr.Open(7); len(open) != 1 || open[0].Last.Lat != 50 || open[0].Fixes != 1 {
			t.Fatalf("max %d: after expiry %d open", maxOpen, len(open))
		}
		if tr.Active() != 1 {
			t.Errorf("max %d: %d active", maxOpen, tr.Active())
		}
	}
}

// Prefetch has no effect but speed: on known, unknown, closed and zero
// MMSIs, at every stage, the tracker is as it was.
func TestPrefetchChangesNothing(t *testing.T) {
	tr := NewTracker[int, struct{}](Config{Expire: time.Hour})
	tr.Add(fix(5, 0, 10, 10))
	tr.Add(fix(6, 0, 20, 20))
	tr.Add(fix(6, 180, 20, 20)) // MMSI 5's segment expires in the sweep
	before := fmt.Sprint(tr.Active(), len(tr.Open(5)), len(tr.Open(6)), len(tr.vessels), tr.ids.n)
	for _, mmsi := range []uint32{0, 5, 6, 7, 999999999} {
		for stage := 0; stage < 3; stage++ {
			tr.Prefetch(mmsi, stage)
		}
	}
	if after := fmt.Sprint(tr.Active(), len(tr.Open(5)), len(tr.Open(6)), len(tr.vessels), tr.ids.n); after != before {
		t.Errorf("tracker changed: %s -> %s", before, after)
	}
}

// MaxVessels bounds the MMSIs tracked whatever the input: with a cap of
// 1,000 and 20,000 distinct MMSIs each heard once in turn, the count
// never passes the cap, the idlest are the ones forgotten (each eviction
// closes its segment and is counted), and a vessel heard again after its
// eviction is a new vessel: its segments are numbered from 0 again and
// its state starts empty.
func TestMaxVesselsEvictsIdlest(t *testing.T) {
	tr := NewTracker[struct{}, int](Config{MaxVessels: 1000})
	closed, evicted := 0, map[uint32]bool{}
	tr.Closed = func(*Segment[struct{}]) { closed++ }
	tr.Evicted = func(mmsi uint32, v *int) {
		if *v != 7 {
			t.Fatalf("evicted %d with state %d", mmsi, *v)
		}
		evicted[mmsi] = true
	}
	for i := 0; i < 20000; i++ {
		m := uint32(200000000 + i)
		s, v, _, r := tr.Track(fix(m, i, 10+float64(i%100)*0.01, 10))
		if r != Started || s.ID != 0 {
			t.Fatalf("MMSI %d: %v segment %d", m, r, s.ID)
		}
		*v = 7
		if n := tr.Tracked(); n > 1000 {
			t.Fatalf("%d tracked at MMSI %d", n, i)
		}
	}
	// Each eviction forgets a sixteenth of the cap at once.
	n := int64(tr.Tracked())
	if n < 1000-1000/16 || tr.Evictions() != 20000-n || closed != int(20000-n) || len(evicted) != int(20000-n) {
		t.Fatalf("%d tracked, %d evictions, %d closed, %d evicted", n, tr.Evictions(), closed, len(evicted))
	}
	// The most recent are the ones kept.
	for i := 20000 - 1000 + 1000/16; i < 20000; i++ {
		if evicted[uint32(200000000+i)] {
			t.Fatalf("MMSI %d, heard last, was evicted", i)
		}
	}
	// An early MMSI comes back: new entry, segment 0, state empty.
	first := uint32(200000000)
	if !evicted[first] || tr.Lookup(first) >= 0 {
		t.Fatal("the first MMSI is still tracked")
	}
	s, v, _, r := tr.Track(fix(first, 30000, 10, 10))
	if r != Started || s.ID != 0 || *v != 0 {
		t.Errorf("returning vessel: %v segment %d state %d", r, s.ID, *v)
	}
	// Without eviction (the cap above the MMSIs) nothing is forgotten.
	big := NewTracker[struct{}, int](Config{MaxVessels: 100000})
	for i := 0; i < 20000; i++ {
		big.Add(fix(uint32(200000000+i), i, 10, 10))
	}
	if big.Tracked() != 20000 || big.Evictions() != 0 {
		t.Errorf("uncapped: %d tracked, %d evictions", big.Tracked(), big.Evictions())
	}
}
