package detect

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/track"
)

// appendItemsV1 writes a batch as builds before version 2 did (a
// sequencer not yet upgraded).
func appendItemsV1(items []Item) []byte {
	w := &enc{}
	w.b = append(w.b, itemsMagic...)
	w.u(1)
	w.u(uint64(len(items)))
	for i := range items {
		it := &items[i]
		w.u(uint64(it.Kind))
		w.t(it.Now)
		switch it.Kind {
		case ItemFix:
			w.fix(it.Fix)
			w.i(int64(it.Segment))
			w.bool(it.Started)
			w.f(it.Speed)
			w.bool(it.Sweep)
		case ItemStatic:
			w.fix(it.Fix)
		case ItemClosed:
			w.u(uint64(it.Fix.MMSI))
			w.i(int64(it.Segment))
		case ItemEvicted:
			w.u(uint64(it.Fix.MMSI))
		case ItemContact:
			w.u(uint64(it.Fix.MMSI))
		}
	}
	return w.b
}

// Batches of version 1, left on the item stream by a sequencer of an
// earlier build, are read after an upgrade: every field version 1 had,
// the rest zero; a contact (which version 1 had not) is refused.
func TestItemsVersion1Read(t *testing.T) {
	now := track.TimeOf(time.Unix(1764633600, 0))
	static := staticFix(StaticReport{MMSI: 445123000, Time: now, IMO: 9811000, Name: "CHON MA SAN", CallSign: "HMYZ", Source: "s"})
	items := []Item{
		{Kind: ItemFix, Now: now, Fix: track.Fix{MMSI: 445123000, Time: now, Lat: 38.5, Lon: 124.25, SOG: 3.5, COG: 90}, Segment: 2, Started: true, Speed: 3.5},
		{Kind: ItemFix, Now: now.Add(time.Minute), Fix: track.Fix{MMSI: 445123000, Time: now.Add(time.Minute), Lat: 38.51, Lon: 124.26, SOG: math.NaN()}, Segment: 2, Speed: 1.25, Sweep: true},
		{Kind: ItemSweepIdentity, Now: now.Add(time.Minute)},
		{Kind: ItemSweepJumps, Now: now.Add(time.Minute)},
		{Kind: ItemStatic, Now: now.Add(time.Minute), Fix: static},
		{Kind: ItemClosed, Now: now.Add(2 * time.Minute), Fix: track.Fix{MMSI: 445123000}, Segment: 2},
		{Kind: ItemEvicted, Now: now.Add(2 * time.Minute), Fix: track.Fix{MMSI: 445123000}},
		{Kind: ItemFlush, Now: now.Add(3 * time.Minute)},
	}
	got, err := DecodeItems(appendItemsV1(items))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d items, want %d", len(got), len(items))
	}
	for i := range items {
		g, w := got[i], items[i]
		if g.Kind != w.Kind || g.Now != w.Now || g.Segment != w.Segment || g.Started != w.Started || g.Speed != w.Speed || g.Sweep != w.Sweep ||
			g.Fix.MMSI != w.Fix.MMSI || g.Seq != 0 || g.IMOParts != 0 || g.Gap != nil || g.Adopt != nil || g.Counts || g.LastCell != (AreaCell{}) {
			t.Errorf("item %d: got %+v, want %+v", i, g, w)
		}
		if w.Kind == ItemFix && (g.Fix.Time != w.Fix.Time || g.Fix.Lat != w.Fix.Lat || g.Fix.Lon != w.Fix.Lon || g.Fix.HasSOG() != w.Fix.HasSOG()) {
			t.Errorf("item %d: fix %+v, want %+v", i, g.Fix, w.Fix)
		}
		if w.Kind == ItemStatic && !reflect.DeepEqual(StaticIn(&g.Fix), StaticIn(&w.Fix)) {
			t.Errorf("item %d: static %+v, want %+v", i, StaticIn(&g.Fix), StaticIn(&w.Fix))
		}
	}
	if _, err := DecodeItems(appendItemsV1([]Item{{Kind: ItemContact, Now: now, Fix: track.Fix{MMSI: 1}}})); err == nil {
		t.Error("a contact in a version 1 batch decoded")
	}
}

// More IMO partitions than an item's routes hold are refused, not
// routed as 64 (h-rev2's review: with 65 workers 59 of 60 conflicts
// went missing without an error).
func TestIMOPartitionsBounded(t *testing.T) {
	for _, f := range []func(){
		func() {
			NewAreaSequencer(Config{}, nil, nil, nil, func(Event) {}, func(Item) {}, Split{IMOs: MaxIMOPartitions + 1})
		},
		func() { NewAreaSequencer(Config{}, nil, nil, nil, func(Event) {}, func(Item) {}, Split{IMOs: -1}) },
		func() { NewIMOWorker(Config{}, nil, nil, nil, Partition{0, MaxIMOPartitions + 1}, func(Event) {}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("accepted")
				}
			}()
			f()
		}()
	}
	NewAreaSequencer(DefaultConfig, nil, nil, nil, func(Event) {}, func(Item) {}, Split{IMOs: MaxIMOPartitions, Reception: 4})
	NewIMOWorker(DefaultConfig, nil, nil, nil, Partition{MaxIMOPartitions - 1, MaxIMOPartitions}, func(Event) {})
}
