package track

// mmsiTable maps MMSIs to dense indices with open addressing over flat
// arrays. The tracker looks up one MMSI per fix; at 10,000 ships the
// built-in map's groups no longer fit in cache and that lookup was the
// largest single cost of detection (docs/detection.md). Here a lookup
// probes an array of key and index pairs (8 bytes a slot, a few hundred
// KB at most; key and index share a cache line). Entries are deleted only
// when the tracker evicts a vessel: memory follows the MMSIs tracked (16
// bytes of table each at most), not the input.
type mmsiTable struct {
	slots []slot
	n     int
	zero  int32 // index of MMSI 0, -1 when absent
	shift uint
}

type slot struct {
	key uint32 // 0 = empty; MMSI 0 is kept aside
	val int32
}

func newMMSITable() *mmsiTable {
	t := &mmsiTable{zero: -1}
	t.resize(1 << 10)
	return t
}

func (t *mmsiTable) resize(size int) {
	old := t.slots
	t.slots = make([]slot, size)
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
	for _, sl := range old {
		if sl.key != 0 {
			t.insert(sl.key, sl.val)
		}
	}
}

func (t *mmsiTable) slot(k uint32) int {
	// Fibonacci hashing: MMSIs share their leading digits (the MID), so
	// their low bits alone would cluster.
	return int((uint64(k) * 0x9E3779B97F4A7C15) >> t.shift)
}

func (t *mmsiTable) insert(k uint32, v int32) {
	mask := len(t.slots) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		if t.slots[i].key == 0 {
			t.slots[i] = slot{k, v}
			return
		}
	}
}

// get returns the index of k, or -1.
func (t *mmsiTable) get(k uint32) int32 {
	if k == 0 {
		return t.zero
	}
	mask := len(t.slots) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case k:
			return t.slots[i].val
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
	if (t.n+1)*2 > len(t.slots) { // keep the load under one half
		t.resize(len(t.slots) * 2)
	}
	t.insert(k, v)
	t.n++
}

// del removes k (absent k is a no-op). Linear probing keeps its chains by
// moving later entries of the cluster back into the hole (no tombstones,
// so lookups stay as short as before deletions).
func (t *mmsiTable) del(k uint32) {
	if k == 0 {
		t.zero = -1
		return
	}
	mask := len(t.slots) - 1
	i := t.slot(k)
	for {
		switch t.slots[i].key {
		case 0:
			return
		case k:
		default:
			i = (i + 1) & mask
			continue
		}
		break
	}
	t.n--
	for j := i; ; {
		t.slots[i] = slot{}
		for {
			j = (j + 1) & mask
			if t.slots[j].key == 0 {
				return
			}
			// The entry at j may move to the hole at i unless its home
			// slot lies cyclically in (i, j].
			h := t.slot(t.slots[j].key)
			if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
				break
			}
		}
		t.slots[i] = t.slots[j]
		i = j
	}
}
