package track

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"
)

// A follower given the leader's decisions (Place, CloseSegment, Drop)
// holds the same open segments, in the same order, with the same fixes:
// over random traffic of few MMSIs that jump (new segments), fall silent
// (expiry), pass MaxOpen and are evicted (MaxVessels). A fix on a
// segment the follower does not hold, or a close of one, is refused and
// changes nothing.
func TestFollowerHoldsLeadersSegments(t *testing.T) {
	type seg struct{ closed bool }
	lead := NewTracker[seg, int](Config{MaxOpen: 3, MaxVessels: 12, Expire: 6 * time.Hour})
	follow := NewTracker[seg, int](Config{MaxOpen: 3, MaxVessels: math.MaxInt, Expire: 6 * time.Hour})
	var leadClosed, followClosed, leadEvicted, followEvicted []string
	lead.Closed = func(s *Segment[seg]) {
		leadClosed = append(leadClosed, fmt.Sprint(s.MMSI, s.ID, s.Fixes))
		if !follow.CloseSegment(s.MMSI, s.ID) {
			t.Fatalf("follower has no segment %d of %d to close", s.ID, s.MMSI)
		}
	}
	follow.Closed = func(s *Segment[seg]) { followClosed = append(followClosed, fmt.Sprint(s.MMSI, s.ID, s.Fixes)) }
	lead.Evicted = func(mmsi uint32, _ *int) {
		leadEvicted = append(leadEvicted, fmt.Sprint(mmsi))
		follow.Drop(mmsi)
	}
	follow.Evicted = func(mmsi uint32, _ *int) { followEvicted = append(followEvicted, fmt.Sprint(mmsi)) }
	rng := rand.New(rand.NewSource(3))
	minute := 0
	for range 20000 {
		minute += rng.Intn(4)
		m := uint32(200000000 + rng.Intn(20))
		lat, lon := 10+rng.Float64()*0.01, 20+rng.Float64()*0.01
		if rng.Intn(8) == 0 {
			lat += float64(rng.Intn(3)) * 3 // another ship far away on the same MMSI
		}
		f := fix(m, minute, lat, lon)
		f.COG = 0 // comparable
		s, _, prev, r := lead.Track(f)
		if r != Started && r != Extended {
			continue
		}
		fs, _, fprev, fr := follow.Place(f, s.ID, r == Started)
		if fr != r || fs.ID != s.ID || fs.Fixes != s.Fixes || fprev != prev {
			t.Fatalf("fix %v: follower %v segment %d (%d fixes, prev %v), leader %v %d (%d, %v)", f, fr, fs.ID, fs.Fixes, fprev, r, s.ID, s.Fixes, prev)
		}
	}
	if len(leadEvicted) == 0 || len(leadClosed) == 0 {
		t.Fatalf("no eviction (%d) or no close (%d): the test tests nothing", len(leadEvicted), len(leadClosed))
	}
	if fmt.Sprint(leadClosed) != fmt.Sprint(followClosed) || fmt.Sprint(leadEvicted) != fmt.Sprint(followEvicted) {
		t.Errorf("closed or evicted differently")
	}
	for m := uint32(200000000); m < 200000020; m++ {
		a, b := lead.Open(m), follow.Open(m)
		if len(a) != len(b) {
			t.Fatalf("MMSI %d: %d open segments, follower %d", m, len(a), len(b))
		}
		for i := range a {
			if a[i].ID != b[i].ID || a[i].Last != b[i].Last || a[i].Fixes != b[i].Fixes {
				t.Errorf("MMSI %d: segment %d differs", m, i)
			}
		}
	}
	if lead.Active() != follow.Active() {
		t.Errorf("%d open segments, follower %d", lead.Active(), follow.Active())
	}
	// Refused: a fix on a segment not open, a new segment already open,
	// a close of a segment not open.
	m := uint32(200000000)
	for len(follow.Open(m)) == 0 {
		m++
	}
	open := follow.Open(m)[0]
	before := follow.Active()
	if _, _, _, r := follow.Place(fix(m, minute+1, 10, 20), 999, false); r != Invalid {
		t.Errorf("fix on a segment not open: %v", r)
	}
	if _, _, _, r := follow.Place(fix(m, minute+1, 10, 20), open.ID, true); r != Invalid {
		t.Errorf("segment started twice: %v", r)
	}
	if _, _, _, r := follow.Place(fix(123, minute+1, 10, 20), 0, false); r != Invalid {
		t.Errorf("fix of an MMSI not held: %v", r)
	}
	if follow.CloseSegment(m, 999) || follow.CloseSegment(123, 0) {
		t.Error("closed a segment not open")
	}
	if follow.Active() != before || follow.Lookup(123) >= 0 {
		t.Error("a refused item changed the follower")
	}
}
