package track

import (
	"math/rand"
	"slices"
	"testing"
	"time"
)

// modelReorder is the reorder buffer's specification written the plain
// way: every fix held in one sorted slice, the smallest released while it
// is older than the newest time less the lateness, a fix that sorts
// before the last one released counted late and dropped.
type modelReorder struct {
	lateness time.Duration
	held     []Fix
	max      Time
	last     *Fix
	late     int64
}

func (m *modelReorder) push(f Fix, emit func(Fix)) {
	if m.last != nil && fixCmp(&f, m.last) < 0 {
		m.late++
		return
	}
	i, _ := slices.BinarySearchFunc(m.held, f, func(a, b Fix) int {
		if c := fixCmp(&a, &b); c != 0 {
			return c
		}
		return -1 // after its equals: arrival order among equals is invisible
	})
	m.held = slices.Insert(m.held, i, f)
	if f.Time.After(m.max) {
		m.max = f.Time
	}
	limit := m.max.Add(-m.lateness)
	for len(m.held) > 0 && m.held[0].Time.Before(limit) {
		g := m.held[0]
		m.last = &g
		m.held = m.held[1:]
		emit(g)
	}
}

func (m *modelReorder) flush(emit func(Fix)) {
	for _, g := range m.held {
		emit(g)
	}
	m.held = nil
}

// TestReorderMatchesModel: streams with every kind of disorder (in order,
// a few late, most late, late by more than the window, whole-second and
// sub-second stamps, ties of one MMSI and time), and checkpoints taken and
// restored in the middle, give exactly the model's sequence and late count.
func TestReorderMatchesModel(t *testing.T) {
	srcs := []*Extra{{Source: "a"}, {Source: "b"}}
	for seed := int64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewSource(seed))
		n := 200 + rng.Intn(3000)
		lateShare := []int{0, 2, 30, 90}[seed%4]
		maxLate := time.Duration(1+rng.Intn(1800)) * time.Second
		lateness := []time.Duration{0, 5 * time.Second, 10 * time.Minute, 2 * time.Hour}[rng.Intn(4)]
		subSecond := seed%3 == 0
		var in []Fix
		for i := 0; i < n; i++ {
			tm := t0.Add(time.Duration(i/(1+rng.Intn(40))) * time.Second)
			if subSecond {
				tm = tm.Add(time.Duration(rng.Intn(1000)) * time.Millisecond)
			}
			if rng.Intn(100) < lateShare {
				tm = tm.Add(-time.Duration(rng.Int63n(int64(maxLate))))
			}
			f := Fix{MMSI: uint32(100 + rng.Intn(30)), Time: tm, Lat: float64(rng.Intn(4)), Lon: float64(rng.Intn(3)), SOG: float64(rng.Intn(3)), Extra: srcs[rng.Intn(2)]}
			in = append(in, f)
			if rng.Intn(20) == 0 {
				in = append(in, f) // a duplicate
			}
		}
		m := &modelReorder{lateness: lateness}
		var want []Fix
		for _, f := range in {
			m.push(f, func(g Fix) { want = append(want, g) })
		}
		m.flush(func(g Fix) { want = append(want, g) })

		r := NewReorder(lateness)
		var got []Fix
		for _, f := range in {
			r.Push(f, func(g Fix) { got = append(got, g) })
			if rng.Intn(500) == 0 { // a checkpoint and a restart
				st := r.State(true)
				r = &Reorder{}
				r.Restore(st)
			}
		}
		r.Flush(func(g Fix) { got = append(got, g) })
		if r.Late != m.late {
			t.Fatalf("seed %d: %d late, the model %d", seed, r.Late, m.late)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d fixes out, the model %d", seed, len(got), len(want))
		}
		for i := range got {
			if fixCmp(&got[i], &want[i]) != 0 {
				t.Fatalf("seed %d (late share %d%%, lateness %s): fix %d is %+v, the model's %+v", seed, lateShare, lateness, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkReorderLate is BenchmarkReorder with the disorder of the
// simulated days (docs/benchmarks.md): a third of the fixes up to half an
// hour late, through a two-hour window.
func BenchmarkReorderLate(b *testing.B) { benchReorder(b, 3, 30*time.Minute, 2*time.Hour) }
