package detect

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/identity"
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

// TestRouteClocksCheckpoint: an area sequencer's checkpoint keeps each
// evicted MMSI's routes with their clock and mark, exactly; one written
// as the build before route clocks did (CheckpointWithoutRouteClocks)
// restores with every route at the checkpoint's clock (after every
// eviction in it), unmarked, and those routes go 30 to 33 days later, as
// routes of MMSIs evicted then would; a route section cut short or with
// routes to no partition is refused.
func TestRouteClocksCheckpoint(t *testing.T) {
	cfg := DefaultConfig
	cfg.MaxVessels = 50
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := func() *Engine {
		return NewAreaSequencer(cfg, nil, nil, nil, func(Event) {}, func(Item) {}, Split{IMOs: 3})
	}
	// Every 30 minutes a new MMSI, with a valid IMO (to day 40) or
	// without (after).
	feed := func(e *Engine, from, to int) {
		for i := from * 48; i < to*48; i++ {
			m := uint32(211000001 + i)
			at := track.TimeOf(t0.Add(time.Duration(i) * 30 * time.Minute))
			if i < 40*48 {
				x := 9000000 + i*10
				e.Static(StaticReport{MMSI: m, Time: at, IMO: uint32(x + identity.ShipCheckDigit(x)), Name: "ONCE"})
			}
			e.Position(track.Fix{MMSI: m, Time: at, Lat: 10, Lon: float64(i%100) * 0.1, SOG: 5})
		}
	}
	e := seq()
	feed(e, 0, 40)
	marked := 0
	for _, r := range e.evictedRoutes {
		if r.forgotten {
			marked++
		}
	}
	if marked == 0 || marked == len(e.evictedRoutes) {
		t.Fatalf("%d routes, %d marked: the set tests little", len(e.evictedRoutes), marked)
	}
	n := seq()
	if err := n.Restore(e.Checkpoint()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n.evictedRoutes, e.evictedRoutes) {
		t.Error("routes restored differ")
	}
	old := e.CheckpointWithoutRouteClocks()
	o := seq()
	if err := o.Restore(old); err != nil {
		t.Fatalf("a checkpoint without route clocks: %v", err)
	}
	clock := ceilHour(e.now)
	if len(o.evictedRoutes) != len(e.evictedRoutes) {
		t.Fatalf("%d routes restored from the old form, %d checkpointed", len(o.evictedRoutes), len(e.evictedRoutes))
	}
	for m, r := range o.evictedRoutes {
		if r != (evictedRoute{parts: e.evictedRoutes[m].parts, at: clock}) {
			t.Fatalf("MMSI %d: restored from the old form as %+v, want its partitions at %v, unmarked", m, r, clock)
		}
	}
	t.Logf("%d routes (%d marked); checkpoint %d bytes, %d in the old form", len(e.evictedRoutes), marked, len(e.Checkpoint()), len(old))
	// The routes from the old form stay 30 days (to day 70) and go by
	// day 73.
	left := func() (n int) {
		for m := range e.evictedRoutes {
			if _, ok := o.evictedRoutes[m]; ok {
				n++
			}
		}
		return n
	}
	feed(o, 40, 70)
	if k := left(); k != len(e.evictedRoutes) {
		t.Errorf("day 70: %d routes of %d left", k, len(e.evictedRoutes))
	}
	feed(o, 70, 73)
	if k := left(); k != 0 {
		t.Errorf("day 73: %d routes of %d left", k, len(e.evictedRoutes))
	}
	b := e.Checkpoint()
	for _, bad := range [][]byte{b[:len(b)-1], append(b[:len(b):len(b)], 0)} {
		if err := seq().Restore(bad); err == nil {
			t.Error("a corrupt route section restored")
		}
	}
	// A route to no partition.
	x := &enc{}
	e.encodeRoutes(x)
	y := &enc{b: b[: len(b)-len(x.b) : len(b)-len(x.b)]}
	y.u(0)
	y.u(1)
	y.u(211000001)
	y.u(0)
	y.u(0)
	if err := seq().Restore(y.b); err == nil {
		t.Error("a route to no partition restored")
	}
}
