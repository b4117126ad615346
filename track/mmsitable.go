package track

// mmsiTable maps MMSIs to dense indices with open addressing over flat
// arrays. The tracker looks up one MMSI per fix; at 10,000 ships the
// built-in map's groups no longer fit in cache and that lookup was the
// largest single cost of detection (docs/detection.md). Here a lookup
// probes a 4-byte key array (a few hundred KB at most, cache-resident)
// and reads one index. Entries are never deleted: memory follows the
// distinct MMSIs seen (8 bytes of table each), not the input.
type mmsiTable struct {
	keys  []uint32 // 0 = empty; MMSI 0 is kept aside
	vals  []int32
	n     int
	zero  int32 // index of MMSI 0, -1 when absent
	shift uint
}

func newMMSITable() *mmsiTable {
	t := &mmsiTable{zero: -1}
	t.resize(1 << 10)
	return t
}

func (t *mmsiTable) resize(size int) {
	old, oldVals := t.keys, t.vals
	t.keys, t.vals = make([]uint32, size), make([]int32, size)
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
	for i, k := range old {
		if k != 0 {
			t.insert(k, oldVals[i])
		}
	}
}

func (t *mmsiTable) slot(k uint32) int {
	// Fibonacci hashing: MMSIs share their leading digits (the MID), so
	// their low bits alone would cluster.
	return int((uint64(k) * 0x9E3779B97F4A7C15) >> t.shift)
}

func (t *mmsiTable) insert(k uint32, v int32) {
	mask := len(t.keys) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		if t.keys[i] == 0 {
			t.keys[i], t.vals[i] = k, v
			return
		}
	}
}

// get returns the index of k, or -1.
func (t *mmsiTable) get(k uint32) int32 {
	if k == 0 {
		return t.zero
	}
	mask := len(t.keys) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.vals[i]
		case 0:
			return -1
		}
	}
}

// put records k -> v (k must be absent).
func (t *mmsiTable) put(k uint32, v int32) {
	if k == 0 {
		t.zero = v
		return
	}
	if (t.n+1)*2 > len(t.keys) { // keep the load under one half
		t.resize(len(t.keys) * 2)
	}
	t.insert(k, v)
	t.n++
}
