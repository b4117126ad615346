package detect_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/track"
)

// areaSplit is a sequencer built with NewAreaSequencer, na area workers,
// np pair workers and nv vessel workers, run in lock step: each item of
// the sequencer goes to the vessel workers For it, to every pair worker,
// then to the area workers ForArea it, whose contacts go to the pair
// workers at once (before the sequencer's next item). With wire, every
// item and every fix's contacts go through their wire form first.
type areaSplit struct {
	t                testing.TB
	cfg              detect.Config
	g                geography
	na, np, nv       int
	wire             bool
	seq              *detect.Engine
	areas            []*detect.AreaWorker
	pairs            []*detect.PairWorker
	vessels          []*detect.VesselWorker
	seqEvs           []detect.Event
	pEvs, vEvs       [][]detect.Event
	contacts         []detect.Item
	items, nContacts int64
	scanned          int64 // fixes some area worker scanned from (contacts found)
}

func newAreaSplit(t testing.TB, cfg detect.Config, g geography, na, np, nv int, wire bool) *areaSplit {
	s := &areaSplit{t: t, cfg: cfg, g: g, na: na, np: np, nv: nv, wire: wire, pEvs: make([][]detect.Event, np), vEvs: make([][]detect.Event, nv)}
	s.build()
	return s
}

func (s *areaSplit) build() {
	cfg, g := s.cfg, s.g
	s.seq = detect.NewAreaSequencer(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { s.seqEvs = append(s.seqEvs, ev) }, s.send)
	s.seq.Designated = designated
	s.areas, s.pairs, s.vessels = nil, nil, nil
	for i := range s.na {
		s.areas = append(s.areas, detect.NewAreaWorker(cfg, g.land, g.ports, g.zones, detect.AreaPartition{Index: i, Count: s.na},
			func(it detect.Item) { s.contacts = append(s.contacts, it) }))
	}
	for i := range s.np {
		w := detect.NewPairWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: i, Count: s.np}, func(ev detect.Event) { s.pEvs[i] = append(s.pEvs[i], ev) })
		w.Designated = designated
		s.pairs = append(s.pairs, w)
	}
	for i := range s.nv {
		w := detect.NewVesselWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: i, Count: s.nv}, func(ev detect.Event) { s.vEvs[i] = append(s.vEvs[i], ev) })
		w.Designated = designated
		s.vessels = append(s.vessels, w)
	}
}

// through passes items through their wire form when s.wire.
func (s *areaSplit) through(items []detect.Item) []detect.Item {
	if !s.wire || len(items) == 0 {
		return items
	}
	got, err := detect.DecodeItems(detect.AppendItems(nil, items))
	if err != nil {
		s.t.Fatal(err)
	}
	return got
}

func (s *areaSplit) send(it detect.Item) {
	t := s.t
	s.items++
	if it.Seq != uint64(s.items) {
		t.Fatalf("item %d numbered %d", s.items, it.Seq)
	}
	it = s.through([]detect.Item{it})[0]
	for i, w := range s.vessels {
		if it.For(detect.Partition{Index: i, Count: s.nv}) {
			w.Apply(&it)
		}
	}
	for _, w := range s.pairs {
		w.Apply(&it)
	}
	owners, from := 0, 0
	for i, w := range s.areas {
		a := detect.AreaPartition{Index: i, Count: s.na}
		if it.Kind == detect.ItemFix && a.OwnsCell(cellOf(it.Fix)) {
			owners++
		}
		n := len(s.contacts)
		w.Apply(&it)
		if len(s.contacts) > n {
			from++
		}
	}
	if it.Kind == detect.ItemFix && owners != 1 {
		t.Fatalf("cell of a fix owned by %d area partitions", owners)
	}
	if from > 1 {
		t.Fatalf("contacts of one fix from %d area workers", from)
	}
	if len(s.contacts) == 0 {
		return
	}
	s.scanned++
	cs := s.through(s.contacts)
	s.contacts = s.contacts[:0]
	for k := range cs {
		c := &cs[k]
		if c.Kind != detect.ItemContact || c.Seq != it.Seq {
			t.Fatalf("contact %+v after item %d", c, it.Seq)
		}
		s.nContacts++
		owned := 0
		for i, w := range s.pairs {
			if (detect.Partition{Index: i, Count: s.np}).OwnsPair(c.Fix.MMSI, c.Other) {
				owned++
			}
			w.Apply(c)
		}
		if owned != 1 {
			t.Fatalf("contact owned by %d pair partitions", owned)
		}
	}
}

func cellOf(f track.Fix) detect.AreaCell {
	return detect.AreaCell{X: int32(math.Floor((f.Lon + 180) / 0.05)), Y: int32(math.Floor((f.Lat + 90) / 0.05))}
}

func (s *areaSplit) events() []detect.Event {
	out := append([]detect.Event(nil), s.seqEvs...)
	for _, w := range s.pEvs {
		out = append(out, w...)
	}
	for _, w := range s.vEvs {
		out = append(out, w...)
	}
	return out
}

func (s *areaSplit) rejected() int64 {
	var n int64
	for _, w := range s.areas {
		n += w.Rejected()
	}
	for _, w := range s.pairs {
		n += w.Rejected()
	}
	for _, w := range s.vessels {
		n += w.Rejected()
	}
	return n
}

func areaRun(t testing.TB, cfg detect.Config, g geography, na, np, nv int, wire bool, inputs []input) *areaSplit {
	t.Helper()
	s := newAreaSplit(t, cfg, g, na, np, nv, wire)
	for _, in := range inputs {
		feed(t, s.seq, in)
	}
	s.seq.Flush()
	return s
}

func checkAreas(t *testing.T, name string, cfg detect.Config, g geography, inputs []input) {
	t.Helper()
	want, _, evicted := engineRun(t, cfg, g, inputs)
	encounters := 0
	for _, e := range want {
		if e.Kind == detect.KindEncounter {
			encounters++
		}
	}
	t.Logf("%s: the engine: %d events, %d encounters, %d evictions", name, len(want), encounters, evicted)
	for _, n := range []int{1, 2, 4} {
		// 1 area and pair worker hand items over as they are; 2 and 4
		// through the wire form. Two vessel workers throughout.
		wire := n > 1
		s := areaRun(t, cfg, g, n, n, 2, wire, inputs)
		sub := fmt.Sprintf("%s, %d area and pair workers", name, n)
		sameEvents(t, sub, s.events(), want)
		if r := s.rejected(); r != 0 {
			t.Errorf("%s: %d items rejected", sub, r)
		}
		for _, e := range s.seqEvs {
			if e.Kind == detect.KindEncounter {
				t.Errorf("%s: the sequencer emitted an encounter", sub)
				break
			}
		}
		t.Logf("%s: %d items, %d contacts from %d fixes; pair workers' events %v", sub, s.items, s.nContacts, s.scanned, lens(s.pEvs))
	}
}

// TestAreaWorkersSameEvents: a sequencer built with NewAreaSequencer, 1,
// 2 or 4 area workers, as many pair workers and 2 vessel workers emit,
// together, exactly an Engine's events (sorted JSON, byte for byte): on
// the planted cases, the same with a vessel cap that evicts, and (not in
// -short) 2,000 ships for 12 hours.
func TestAreaWorkersSameEvents(t *testing.T) {
	g := loadGeography()
	nmea := splitScenario(t)
	checkAreas(t, "planted cases", detect.DefaultConfig, g, nmeaInputs(nmea))
	cfg := detect.DefaultConfig
	cfg.MaxVessels = 60
	checkAreas(t, "planted cases, 60 vessels at most", cfg, g, nmeaInputs(nmea))
	if testing.Short() {
		return
	}
	big, _ := simNMEA(t, func(sc *sim.Scenario) { sc.Background, sc.Duration, sc.Interval = 2000, 12*time.Hour, time.Minute })
	checkAreas(t, "2,000 ships", detect.DefaultConfig, g, nmeaInputs(big))
}

// TestAreaWorkersRealAIS: the same on every AIS file of shared/data/ais.
func TestAreaWorkersRealAIS(t *testing.T) {
	dir := "../../shared/data/ais"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skip("shared/data/ais not beside the repository")
	}
	g := loadGeography()
	cfg := detect.DefaultConfig
	cfg.ReorderLatenessMinutes = 24 * 60
	n := 0
	for _, d := range ents {
		name := d.Name()
		if strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".jsonl") {
			continue
		}
		checkAreas(t, name, cfg, g, []input{{path: filepath.Join(dir, name)}})
		n++
	}
	if n == 0 {
		t.Fatal("no AIS file")
	}
}

// TestAreaHalo: two ships drifting 330 m apart on either side of the
// boundary between two tiles of different area partitions make one
// encounter, found by the split as by the Engine: each partition's grid
// holds the ring of cells around its tiles (without it neither worker
// sees the other ship).
func TestAreaHalo(t *testing.T) {
	const lat = 10.01
	y := int32(math.Floor((lat + 90) / 0.05))
	parts := []detect.AreaPartition{{Index: 0, Count: 2}, {Index: 1, Count: 2}}
	owner := func(x int32) int {
		for i, p := range parts {
			if p.OwnsCell(detect.AreaCell{X: x, Y: y}) {
				return i
			}
		}
		return -1
	}
	// A tile boundary (cells of 0.05 degrees, tiles of 8 cells) in the
	// open Pacific whose two sides are different partitions'.
	x := int32(-1)
	for k := int32(40 * 20 / 8); k < 60*20/8; k++ {
		if owner(8*k-1) != owner(8*k) {
			x = 8 * k
			break
		}
	}
	if x < 0 {
		t.Fatal("no tile boundary between partitions")
	}
	lon := float64(x)*0.05 - 180
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var fixes []track.Fix
	for i := range 4 * 60 {
		at := t0.Add(time.Duration(i) * time.Minute)
		fixes = append(fixes,
			track.Fix{MMSI: 412000001, Time: track.TimeOf(at), Lat: lat, Lon: lon - 0.0015, SOG: 0.4, COG: 90},
			track.Fix{MMSI: 352000002, Time: track.TimeOf(at.Add(30 * time.Second)), Lat: lat + 0.0001, Lon: lon + 0.0015, SOG: 0.4, COG: 90})
	}
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].Time.Before(fixes[j].Time) })
	g := loadGeography()
	cfg := detect.DefaultConfig
	var want []detect.Event
	e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { want = append(want, ev) })
	for _, f := range fixes {
		e.Position(f)
	}
	e.Flush()
	n := 0
	for _, ev := range want {
		if ev.Kind == detect.KindEncounter {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the engine: %d encounters, want 1: %+v", n, want)
	}
	s := newAreaSplit(t, cfg, g, 2, 2, 1, true)
	for _, f := range fixes {
		s.seq.Position(f)
	}
	s.seq.Flush()
	sameEvents(t, "two ships across a tile boundary", s.events(), want)
	if s.nContacts == 0 {
		t.Error("no contact found")
	}
}
