package track

// Snapshot is a tracker's whole state as plain values, for checkpoints:
// the caller encodes its segment and vessel data (D, V) itself.
type Snapshot[D, V any] struct {
	Now, SweepAt Time
	Evictions    int64
	// Vessels are the entries in index order; a free entry (its vessel
	// evicted, the index not yet reused) has Free set.
	Vessels []SnapshotVessel[D, V]
	// Free lists the free entries in the order they will be reused.
	Free []int32
}

// SnapshotVessel is one entry: the MMSI, the next segment number, when
// it was last heard, its open segments (in the tracker's order) and the
// caller's state.
type SnapshotVessel[D, V any] struct {
	Free   bool
	MMSI   uint32
	NextID int
	Seen   Time
	Segs   []*Segment[D]
	Data   V
}

// Snapshot returns the tracker's state. Its segments are the tracker's
// own (not copies): encode them before the tracker changes.
func (t *Tracker[D, V]) Snapshot() Snapshot[D, V] {
	s := Snapshot[D, V]{Now: t.now, SweepAt: t.sweepAt, Evictions: t.evictions, Vessels: make([]SnapshotVessel[D, V], len(t.vessels)),
		Free: append([]int32(nil), t.free...)}
	free := map[int32]bool{}
	for _, i := range t.free {
		free[i] = true
	}
	for i := range t.vessels {
		e := &t.vessels[i]
		s.Vessels[i] = SnapshotVessel[D, V]{Free: free[int32(i)], MMSI: e.mmsi, NextID: int(e.nextID), Seen: e.seen, Segs: e.segs, Data: e.data}
	}
	return s
}

// Restore replaces the tracker's state with a snapshot's (a new tracker
// restored from a checkpoint goes on exactly as the one that took it).
// Indices, free entries and the order of each MMSI's segments are kept,
// so eviction and sweeps choose as they would have.
func (t *Tracker[D, V]) Restore(s Snapshot[D, V]) {
	t.now, t.sweepAt, t.evictions = s.Now, s.SweepAt, s.Evictions
	t.vessels = make([]vesselEntry[D, V], len(s.Vessels))
	t.free = append(t.free[:0], s.Free...)
	t.ids = newMMSITable()
	t.open = 0
	for i, v := range s.Vessels {
		if v.Free {
			continue
		}
		t.vessels[i] = vesselEntry[D, V]{mmsi: v.MMSI, nextID: int32(v.NextID), seen: v.Seen, segs: v.Segs, data: v.Data}
		t.ids.put(v.MMSI, int32(i))
		t.open += len(v.Segs)
	}
}
