package detect

// Partition is one share of the events, for running detection on several
// workers that each read the whole input (docs/scale.md). Every event has
// one owner, by the natural key of the state it comes from:
//
//   - the vessel (MMSI of its first vessel): gaps, loitering, port calls,
//     zone entries and exits, spoofing, identity and draught changes of
//     one MMSI, inconsistencies;
//   - the pair of vessels: encounters (by both MMSIs, so every version
//     of one meeting, open or closed, has the same owner);
//   - the identity (IMO): one IMO broadcast by two MMSIs, and one MMSI
//     taking over another's IMO.
//
// An engine with a Partition of Count > 1 emits only the events its
// Index owns, and runs the per-vessel detectors (loitering, port calls,
// zones, spoofing, jumps, gaps) and Observe only for the MMSIs it owns.
// What other owners' events depend on is still kept for every vessel:
// the tracker's segments, reception counts, the encounter grid and pairs,
// and the identity state of every MMSI and IMO. Engines of Index 0 to
// Count-1 fed the same input emit, together, exactly the events of one
// engine without a Partition (TestSplitSameEvents).
//
// A VesselWorker's Partition is a real split: the worker holds and runs
// only its MMSIs' state, fed by one sequencer (sequence.go).
type Partition struct {
	Index, Count int
}

// Split says whether the partition emits a share only (Count > 1).
func (p Partition) Split() bool { return p.Count > 1 }

// key hashes a natural key to its owner (a 32-bit mix, so that MMSIs of
// one country or IMOs of one series spread over the partitions).
func (p Partition) key(k uint64) bool {
	if p.Count <= 1 {
		return true
	}
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return int(k%uint64(p.Count)) == p.Index
}

// OwnsMMSI says whether the partition owns the vessel's events (and
// stores its positions and identity history).
func (p Partition) OwnsMMSI(mmsi uint32) bool { return p.key(uint64(mmsi)) }

// OwnsIMO says whether the partition owns the events of one IMO.
func (p Partition) OwnsIMO(imo uint32) bool { return p.key(uint64(imo) | 1<<40) }

// OwnsPair says whether the partition owns the encounters of two MMSIs.
func (p Partition) OwnsPair(a, b uint32) bool {
	a, b = min(a, b), max(a, b)
	return p.key(uint64(a)<<32 | uint64(b) ^ 0x9e3779b97f4a7c15)
}

// Owns says whether the partition owns the event.
func (p Partition) Owns(ev *Event) bool {
	if p.Count <= 1 {
		return true
	}
	switch {
	case ev.Kind == KindEncounter && len(ev.Vessels) == 2:
		return p.OwnsPair(ev.Vessels[0].MMSI, ev.Vessels[1].MMSI)
	case ev.Kind == KindIdentityConflict && ev.Details.Reason == "one_imo_two_mmsi",
		ev.Kind == KindIdentityChange && ev.Details.Field == "mmsi":
		return p.OwnsIMO(ev.Details.IMO)
	case len(ev.Vessels) > 0:
		return p.OwnsMMSI(ev.Vessels[0].MMSI)
	}
	return p.Index == 0
}
