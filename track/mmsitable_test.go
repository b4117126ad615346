package track

import (
	"math/rand"
	"testing"
)

func TestMMSITable(t *testing.T) {
	tab := newMMSITable()
	ref := map[uint32]int32{}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 50000; i++ {
		// Real MMSIs cluster by MID; include 0 and neighbours.
		k := uint32(rng.Intn(3))*100000000 + uint32(rng.Intn(20000))
		if _, ok := ref[k]; ok {
			continue
		}
		if tab.get(k) != -1 {
			t.Fatalf("%d present before put", k)
		}
		tab.put(k, int32(len(ref)))
		ref[k] = int32(len(ref))
	}
	for k, v := range ref {
		if got := tab.get(k); got != v {
			t.Fatalf("get(%d) = %d, want %d", k, got, v)
		}
	}
	if tab.get(999999999) != -1 {
		t.Error("absent key found")
	}
}

func BenchmarkMMSILookup(b *testing.B) {
	keys := make([]uint32, 10000)
	tab := newMMSITable()
	m := map[uint32]int32{}
	for i := range keys {
		keys[i] = 412000000 + uint32(i)*7
		tab.put(keys[i], int32(i))
		m[keys[i]] = int32(i)
	}
	rng := rand.New(rand.NewSource(1))
	order := make([]uint32, 1<<16)
	for i := range order {
		order[i] = keys[rng.Intn(len(keys))]
	}
	b.Run("table", func(b *testing.B) {
		var s int32
		for i := 0; b.Loop(); i++ {
			s += tab.get(order[i&(len(order)-1)])
		}
		_ = s
	})
	b.Run("map", func(b *testing.B) {
		var s int32
		for i := 0; b.Loop(); i++ {
			s += m[order[i&(len(order)-1)]]
		}
		_ = s
	})
}

// Deleting keeps every other key findable, whatever the clusters: keys
// are put, deleted and put again at random against a map.
func TestMMSITableDelete(t *testing.T) {
	tab := newMMSITable()
	ref := map[uint32]int32{}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 200000; i++ {
		k := uint32(rng.Intn(3))*100000000 + uint32(rng.Intn(3000))
		if _, ok := ref[k]; ok && rng.Intn(2) == 0 {
			tab.del(k)
			delete(ref, k)
		} else if !ok {
			tab.put(k, int32(i))
			ref[k] = int32(i)
		}
		if i%997 == 0 {
			for k, v := range ref {
				if got := tab.get(k); got != v {
					t.Fatalf("step %d: get(%d) = %d, want %d", i, k, got, v)
				}
			}
		}
	}
	want := len(ref)
	if _, ok := ref[0]; ok {
		want-- // MMSI 0 is kept aside, not counted
	}
	if tab.n != want {
		t.Errorf("count %d, want %d", tab.n, want)
	}
	tab.del(123456789) // absent: no-op
	if tab.n != want {
		t.Errorf("deleting an absent key changed the count")
	}
}
