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
// np pair workers, nv vessel workers and ni IMO workers, run in lock
// step: each item of the sequencer goes to the vessel workers For it, to
// every pair and IMO worker (each takes its own),
// then to the area workers ForArea it, whose contacts go to the pair
// workers at once (before the sequencer's next item). With wire, every
// item and every fix's contacts go through their wire form first.
type areaSplit struct {
	t                testing.TB
	cfg              detect.Config
	g                geography
	na, np, nv, ni   int
	wire             bool
	seq              *detect.Engine
	areas            []*detect.AreaWorker
	pairs            []*detect.PairWorker
	vessels          []*detect.VesselWorker
	imos             []*detect.IMOWorker
	recs             []*detect.ReceptionWorker
	seqEvs           []detect.Event
	pEvs, vEvs, iEvs [][]detect.Event
	rEvs             [][]detect.Event
	contacts         []detect.Item
	items, nContacts int64
	scanned          int64 // fixes some area worker scanned from (contacts found)
	// seqCheckpoint, when set, takes the sequencer's checkpoint in
	// checkpoint (else its Checkpoint).
	seqCheckpoint func(*detect.Engine) []byte
}

// newAreaSplit builds it; ni IMO workers and as many reception workers,
// or none (the sequencer keeps the IMOs' users, the counts and the gaps).
func newAreaSplit(t testing.TB, cfg detect.Config, g geography, na, np, nv, ni int, wire bool) *areaSplit {
	s := &areaSplit{t: t, cfg: cfg, g: g, na: na, np: np, nv: nv, ni: ni, wire: wire, pEvs: make([][]detect.Event, np), vEvs: make([][]detect.Event, nv),
		iEvs: make([][]detect.Event, ni), rEvs: make([][]detect.Event, ni)}
	s.build()
	return s
}

func (s *areaSplit) build() {
	cfg, g := s.cfg, s.g
	s.seq = detect.NewAreaSequencer(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { s.seqEvs = append(s.seqEvs, ev) }, s.send,
		detect.Split{IMOs: s.ni, Reception: s.ni})
	s.seq.Designated = designated
	s.areas, s.pairs, s.vessels, s.imos, s.recs = nil, nil, nil, nil, nil
	for i := range s.ni {
		w := detect.NewReceptionWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: i, Count: s.ni},
			func(ev detect.Event) { s.rEvs[i] = append(s.rEvs[i], ev) })
		w.Designated = designated
		s.recs = append(s.recs, w)
	}
	for i := range s.ni {
		w := detect.NewIMOWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: i, Count: s.ni},
			func(ev detect.Event) { s.iEvs[i] = append(s.iEvs[i], ev) })
		w.Designated = designated
		s.imos = append(s.imos, w)
	}
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
	for _, w := range s.imos {
		w.Apply(&it)
	}
	gapOwners := 0
	for i, w := range s.recs {
		if g := it.Gap; g != nil && (detect.Partition{Index: i, Count: s.ni}).OwnsDegree(int16(math.Floor(g.LastLat)), int16(math.Floor(g.LastLon))) {
			gapOwners++
		}
		w.Apply(&it)
	}
	if it.Gap != nil && s.ni > 0 && gapOwners != 1 {
		t.Fatalf("a gap taken by %d reception workers", gapOwners)
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

// imoEvent says the event is an IMO's: one IMO on two MMSIs, or an
// MMSI taking over another's IMO.
func imoEvent(ev *detect.Event) bool {
	return ev.Kind == detect.KindIdentityConflict && ev.Details.Reason == "one_imo_two_mmsi" ||
		ev.Kind == detect.KindIdentityChange && ev.Details.Field == "mmsi"
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
	for _, w := range s.iEvs {
		out = append(out, w...)
	}
	for _, w := range s.rEvs {
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
	for _, w := range s.imos {
		n += w.Rejected()
	}
	for _, w := range s.recs {
		n += w.Rejected()
	}
	return n
}

func areaRun(t testing.TB, cfg detect.Config, g geography, na, np, nv, ni int, wire bool, inputs []input) *areaSplit {
	t.Helper()
	s := newAreaSplit(t, cfg, g, na, np, nv, ni, wire)
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
	imos, gaps := 0, 0
	for _, e := range want {
		if imoEvent(&e) {
			imos++
		}
		if e.Kind == detect.KindGap {
			gaps++
		}
	}
	t.Logf("%s: the engine: %d events, %d encounters, %d of one IMO's MMSIs, %d gaps, %d evictions", name, len(want), encounters, imos, gaps, evicted)
	var contacts int64 = -1
	for _, n := range []int{1, 2, 4} {
		// 1 area and pair worker hand items over as they are; 2 and 4
		// through the wire form. Two vessel workers throughout.
		wire := n > 1
		s := areaRun(t, cfg, g, n, n, 2, n, wire, inputs)
		sub := fmt.Sprintf("%s, %d area and pair workers", name, n)
		sameEvents(t, sub, s.events(), want)
		if contacts >= 0 && s.nContacts != contacts {
			t.Errorf("%s: %d contacts, one area worker %d", sub, s.nContacts, contacts)
		}
		contacts = s.nContacts
		if r := s.rejected(); r != 0 {
			t.Errorf("%s: %d items rejected", sub, r)
		}
		for _, e := range s.seqEvs {
			if e.Kind == detect.KindEncounter || imoEvent(&e) || e.Kind == detect.KindGap {
				t.Errorf("%s: the sequencer emitted %s", sub, e.Kind)
				break
			}
		}
		t.Logf("%s: %d items, %d contacts from %d fixes; pair workers' events %v, IMO workers' %v, reception workers' %v", sub, s.items, s.nContacts, s.scanned, lens(s.pEvs), lens(s.iEvs), lens(s.rEvs))
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
// sees the other ship). Then one leaves at speed, out of the other
// partition's cells: routed by its last cell, it leaves that grid too
// (else the encounter ends half an hour late).
func TestAreaHalo(t *testing.T) {
	const lat = 10.21 // the middle row of a row of tiles
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
	for i := range 5 * 60 {
		at := t0.Add(time.Duration(i) * time.Minute)
		fixes = append(fixes, track.Fix{MMSI: 412000001, Time: track.TimeOf(at), Lat: lat, Lon: lon - 0.0015, SOG: 0.4, COG: 90})
		if i < 4*60 {
			fixes = append(fixes, track.Fix{MMSI: 352000002, Time: track.TimeOf(at.Add(30 * time.Second)), Lat: lat + 0.0001, Lon: lon + 0.0015, SOG: 0.4, COG: 90})
		} else if i%10 == 0 {
			// Then it leaves east at 20 kn, a fix every 10 minutes (6.2
			// km): out of the first partition's cells (its tile and the
			// ring around it) at once; that partition's grid must let it
			// go, or its stale place there stays close to the first ship
			// (fresh for 30 minutes) and the encounter's end moves.
			d := float64(i-4*60+10) / 60 * 20 * 1852 / (111320 * math.Cos(lat*math.Pi/180))
			fixes = append(fixes, track.Fix{MMSI: 352000002, Time: track.TimeOf(at.Add(30 * time.Second)), Lat: lat + 0.0001, Lon: lon + 0.0015 + d, SOG: 20, COG: 90})
		}
	}
	sort.SliceStable(fixes, func(i, j int) bool { return fixes[i].Time.Before(fixes[j].Time) })
	g := loadGeography()
	cfg := detect.DefaultConfig
	want := engineOnFixes(cfg, g, fixes)
	n := 0
	for _, ev := range want {
		if ev.Kind == detect.KindEncounter {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the engine: %d encounters, want 1: %+v", n, want)
	}
	s := splitOnFixes(t, cfg, g, fixes, 2, 2, 1, 2, true)
	sameEvents(t, "two ships across a tile boundary", s.events(), want)
	if s.nContacts == 0 {
		t.Error("no contact found")
	}
}

// checkpoint checkpoints every stage (each reports its open occurrences)
// and goes on with new stages restored from the checkpoints.
func (s *areaSplit) checkpoint() {
	t := s.t
	t.Helper()
	var state []byte
	if s.seqCheckpoint != nil {
		state = s.seqCheckpoint(s.seq)
	} else {
		state = s.seq.Checkpoint()
	}
	var as, ps, vs [][]byte
	for _, w := range s.areas {
		as = append(as, w.Checkpoint())
	}
	for _, w := range s.pairs {
		ps = append(ps, w.Checkpoint())
	}
	for _, w := range s.vessels {
		vs = append(vs, w.Checkpoint())
	}
	var is, rs [][]byte
	for _, w := range s.imos {
		is = append(is, w.Checkpoint())
	}
	for _, w := range s.recs {
		rs = append(rs, w.Checkpoint())
	}
	if r := s.rejected(); r != 0 {
		t.Errorf("%d items rejected before the checkpoint", r)
	}
	s.build()
	if err := s.seq.Restore(state); err != nil {
		t.Fatal(err)
	}
	for i, w := range s.areas {
		if err := w.Restore(as[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range s.pairs {
		if err := w.Restore(ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range s.vessels {
		if err := w.Restore(vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range s.imos {
		if err := w.Restore(is[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, w := range s.recs {
		if err := w.Restore(rs[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAreaWorkersCheckpoint: the 72-hour simulated set cut at four
// points; at each the sequencer, the area, pair and vessel workers
// checkpoint and new ones restored from them go on: each occurrence's
// latest version is the uncut Engine's, for 1, 2 and 4 area and pair
// workers; and the area workers' grids go on exactly (the contacts
// found are the uncut split's, in order).
func TestAreaWorkersCheckpoint(t *testing.T) {
	g := loadGeography()
	nmea, sc := simNMEA(t, func(sc *sim.Scenario) { sc.Duration, sc.Background = 72*time.Hour, 30 })
	h := func(x float64) time.Time { return sc.Start.Add(time.Duration(x * float64(time.Hour))) }
	parts := cutAt(nmea, h(9), h(32), h(47.5), h(60.25))
	want, _, _ := engineRun(t, detect.DefaultConfig, g, nmeaInputs(nmea))
	for _, n := range []int{1, 2, 4} {
		uncut := areaRun(t, detect.DefaultConfig, g, n, n, 2, n, false, nmeaInputs(nmea))
		s := newAreaSplit(t, detect.DefaultConfig, g, n, n, 2, n, n > 1)
		for i, p := range parts {
			if i > 0 {
				s.checkpoint()
			}
			feed(t, s.seq, input{nmea: p})
		}
		s.seq.Flush()
		name := itoa(int64(n)) + " area and pair workers"
		got, w := latest(s.events()), latest(want)
		if strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s: %d occurrences after %d checkpoints, the engine %d", name, len(got), len(parts)-1, len(w))
			for i := range min(len(got), len(w)) {
				if got[i] != w[i] {
					t.Errorf("first difference:\n got %s\nwant %s", got[i], w[i])
					break
				}
			}
		}
		if s.nContacts != uncut.nContacts || s.items != uncut.items {
			t.Errorf("%s: %d items, %d contacts; uncut %d, %d", name, s.items, s.nContacts, uncut.items, uncut.nContacts)
		}
		var open, enc int
		for _, e := range s.events() {
			if e.Kind == detect.KindEncounter {
				enc++
				if e.Status == detect.StatusOpen {
					open++
				}
			}
		}
		if r := s.rejected(); r != 0 {
			t.Errorf("%s: %d items rejected", name, r)
		}
		t.Logf("%s: %d occurrences; %d encounter versions, %d of them open at the checkpoints; %d contacts", name, len(got), enc, open, s.nContacts)
	}
}

// TestAreaCheckpointsRefused: an area, pair, IMO or reception worker's
// checkpoint is refused by another stage, another partition and an
// Engine; the area sequencer's by a sequencer of another split.
func TestAreaCheckpointsRefused(t *testing.T) {
	g := loadGeography()
	cfg := detect.DefaultConfig
	s := newAreaSplit(t, cfg, g, 2, 2, 1, 0, false)
	feed(t, s.seq, input{nmea: splitScenario(t)})
	seqState, a0, p0 := s.seq.Checkpoint(), s.areas[0].Checkpoint(), s.pairs[0].Checkpoint()
	nop := func(detect.Event) {}
	area := func(i int) *detect.AreaWorker {
		return detect.NewAreaWorker(cfg, g.land, g.ports, g.zones, detect.AreaPartition{Index: i, Count: 2}, func(detect.Item) {})
	}
	pair := func(i int) *detect.PairWorker {
		return detect.NewPairWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: i, Count: 2}, nop)
	}
	for _, c := range []struct {
		name    string
		restore func([]byte) error
		state   []byte
	}{
		{"area 0's into area 1", area(1).Restore, a0},
		{"pairs 0's into pairs 1", pair(1).Restore, p0},
		{"area's into pairs", pair(0).Restore, a0},
		{"pairs' into area", area(0).Restore, p0},
		{"area's into an Engine", detect.NewEngine(cfg, g.land, g.ports, g.zones, nop).Restore, a0},
		{"pairs' into an Engine", detect.NewEngine(cfg, g.land, g.ports, g.zones, nop).Restore, p0},
		{"area's into a vessel worker", detect.NewVesselWorker(cfg, g.land, g.ports, g.zones, detect.Partition{}, nop).Restore, a0},
		{"area sequencer's into a sequencer", detect.NewSequencer(cfg, g.land, g.ports, g.zones, nop, func(detect.Item) {}).Restore, seqState},
		{"area sequencer's into one with IMO workers", detect.NewAreaSequencer(cfg, g.land, g.ports, g.zones, nop, func(detect.Item) {}, detect.Split{IMOs: 2}).Restore, seqState},
		{"pairs' into an IMO worker", detect.NewIMOWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, nop).Restore, p0},
		{"IMO 0's into IMO 1", detect.NewIMOWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 1, Count: 2}, nop).Restore,
			detect.NewIMOWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, nop).Checkpoint()},
		{"reception 0's into reception 1", detect.NewReceptionWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 1, Count: 2}, nop).Restore,
			detect.NewReceptionWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, nop).Checkpoint()},
		{"reception's into an IMO worker", detect.NewIMOWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, nop).Restore,
			detect.NewReceptionWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, nop).Checkpoint()},
		{"reception's into pairs", pair(0).Restore, detect.NewReceptionWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, nop).Checkpoint()},
	} {
		if err := c.restore(c.state); err != detect.ErrCheckpointMismatch {
			t.Errorf("%s: %v, want ErrCheckpointMismatch", c.name, err)
		}
	}
	if err := area(0).Restore(a0); err != nil {
		t.Errorf("area 0's into area 0: %v", err)
	}
	if err := pair(0).Restore(p0); err != nil {
		t.Errorf("pairs 0's into pairs 0: %v", err)
	}
}

// rec is a position or a static report, fed in order.
type rec struct {
	f  track.Fix
	st *detect.StaticReport
}

func feedRecs(e *detect.Engine, recs []rec) {
	for _, r := range recs {
		if r.st != nil {
			e.Static(*r.st)
		} else {
			e.Position(r.f)
		}
	}
}

// meetings is sim.Meetings as the tests' records.
func meetings(n int, seed int64) []rec { return recsOf(sim.Meetings(n, seed)) }

// imoSharing is sim.IMOSharing as the tests' records.
func imoSharing(n int, seed int64) []rec { return recsOf(sim.IMOSharing(n, seed)) }

func recsOf(rs []sim.Record) []rec {
	out := make([]rec, len(rs))
	for i, r := range rs {
		if r.Static {
			out[i] = rec{st: &detect.StaticReport{MMSI: r.MMSI, Time: track.TimeOf(r.Time), Name: r.Name, IMO: r.IMO, Source: r.Source}}
		} else {
			out[i] = rec{f: track.Fix{MMSI: r.MMSI, Time: track.TimeOf(r.Time), Lat: r.Lat, Lon: r.Lon, SOG: r.SOG, COG: r.COG}}
		}
	}
	return out
}

func recTime(r rec) track.Time {
	if r.st != nil {
		return r.st.Time
	}
	return r.f.Time
}

// TestAreaWorkersMeetings: on 150 meetings at sea (encounters of every
// shape, a third on tile corners), with and without a vessel cap that
// evicts, and cut by checkpoints at four points: the area split emits the
// Engine's events (sorted JSON, byte for byte; with checkpoints, each
// occurrence's latest version).
func TestAreaWorkersMeetings(t *testing.T) {
	g := loadGeography()
	recs := meetings(150, 1)
	for _, c := range []struct {
		name     string
		max, enc int
	}{{"150 meetings", 0, 100}, {"150 meetings, 60 vessels at most", 60, 20}} {
		cfg := detect.DefaultConfig
		cfg.MaxVessels = c.max
		var want []detect.Event
		e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { want = append(want, ev) })
		e.Designated = designated
		feedRecs(e, recs)
		e.Flush()
		enc, merged := 0, 0
		for _, ev := range want {
			if ev.Kind == detect.KindEncounter {
				enc++
				if ev.Details.Windows > 1 {
					merged++
				}
			}
		}
		t.Logf("%s: the engine: %d events, %d encounters (%d of several windows), %d evictions", c.name, len(want), enc, merged, e.Evictions())
		if enc < c.enc || c.max > 0 && e.Evictions() == 0 {
			t.Fatalf("%s: %d encounters: the set tests little", c.name, enc)
		}
		for _, n := range []int{1, 2, 4} {
			s := newAreaSplit(t, cfg, g, n, n, 2, n, n > 1)
			feedRecs(s.seq, recs)
			s.seq.Flush()
			sub := fmt.Sprintf("%s, %d area and pair workers", c.name, n)
			sameEvents(t, sub, s.events(), want)
			if r := s.rejected(); r != 0 {
				t.Errorf("%s: %d items rejected", sub, r)
			}
			// Cut at four points by checkpoints.
			k := newAreaSplit(t, cfg, g, n, n, 2, n, n > 1)
			cuts := []int{0, len(recs) / 5, len(recs) * 2 / 5, len(recs) * 3 / 5, len(recs) * 4 / 5, len(recs)}
			for i := 1; i < len(cuts); i++ {
				if i > 1 {
					k.checkpoint()
				}
				feedRecs(k.seq, recs[cuts[i-1]:cuts[i]])
			}
			k.seq.Flush()
			got, w := latest(k.events()), latest(want)
			if strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Errorf("%s, cut: %d occurrences, the engine %d", sub, len(got), len(w))
				for i := range min(len(got), len(w)) {
					if got[i] != w[i] {
						t.Errorf("first difference:\n got %s\nwant %s", got[i], w[i])
						break
					}
				}
			}
			open := 0
			for _, ev := range k.events() {
				if ev.Kind == detect.KindEncounter && ev.Status == detect.StatusOpen {
					open++
				}
			}
			if open == 0 {
				t.Errorf("%s: no open encounter at the checkpoints", sub)
			}
			t.Logf("%s: %d items, %d contacts; pair workers' events %v; cut: %d open encounters reported", sub, s.items, s.nContacts, lens(s.pEvs), open)
		}
	}
}

// TestIMOWorkersSameEvents: on 120 IMOs shared by two MMSIs each (every
// way the IMO detector reports), with and without a vessel cap that
// evicts, and cut by checkpoints at four points: a sequencer with 1, 2
// or 4 IMO workers (and as many area and pair workers, 2 vessel workers)
// emits the Engine's events, byte for byte (with checkpoints, each
// occurrence's latest version), the IMOs' all from the IMO workers.
func TestIMOWorkersSameEvents(t *testing.T) {
	g := loadGeography()
	recs := imoSharing(120, 3)
	for _, c := range []struct {
		name     string
		max, min int
	}{{"120 shared IMOs", 0, 100}, {"120 shared IMOs, 40 vessels at most", 40, 20}} {
		cfg := detect.DefaultConfig
		cfg.MaxVessels = c.max
		var want []detect.Event
		e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { want = append(want, ev) })
		e.Designated = designated
		feedRecs(e, recs)
		e.Flush()
		kinds := map[string]int{}
		for _, ev := range want {
			if imoEvent(&ev) {
				kinds[ev.Kind]++
			}
		}
		t.Logf("%s: the engine: %d events, of one IMO's MMSIs %v, %d evictions", c.name, len(want), kinds, e.Evictions())
		if kinds[detect.KindIdentityConflict] < c.min/2 || kinds[detect.KindIdentityChange] < c.min/5 || c.max > 0 && e.Evictions() == 0 {
			t.Fatalf("%s: too few IMO events or evictions: the set tests little", c.name)
		}
		for _, n := range []int{1, 2, 4} {
			s := newAreaSplit(t, cfg, g, n, n, 2, n, n > 1)
			feedRecs(s.seq, recs)
			s.seq.Flush()
			sub := fmt.Sprintf("%s, %d IMO workers", c.name, n)
			sameEvents(t, sub, s.events(), want)
			if r := s.rejected(); r != 0 {
				t.Errorf("%s: %d items rejected", sub, r)
			}
			for _, ev := range s.seqEvs {
				if imoEvent(&ev) {
					t.Errorf("%s: the sequencer emitted an IMO's event", sub)
					break
				}
			}
			k := newAreaSplit(t, cfg, g, n, n, 2, n, n > 1)
			cuts := []int{0, len(recs) / 5, len(recs) * 2 / 5, len(recs) * 3 / 5, len(recs) * 4 / 5, len(recs)}
			for i := 1; i < len(cuts); i++ {
				if i > 1 {
					k.checkpoint()
				}
				feedRecs(k.seq, recs[cuts[i-1]:cuts[i]])
			}
			k.seq.Flush()
			got, w := latest(k.events()), latest(want)
			if strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Errorf("%s, cut: %d occurrences, the engine %d", sub, len(got), len(w))
				for i := range min(len(got), len(w)) {
					if got[i] != w[i] {
						t.Errorf("first difference:\n got %s\nwant %s", got[i], w[i])
						break
					}
				}
			}
			open := 0
			for _, ev := range k.events() {
				if imoEvent(&ev) && ev.Status == detect.StatusOpen {
					open++
				}
			}
			if k.rejected() != 0 {
				t.Errorf("%s, cut: %d items rejected", sub, k.rejected())
			}
			t.Logf("%s: %d items; IMO workers' events %v; cut: %d open IMO conflicts reported", sub, s.items, lens(s.iEvs), open)
		}
	}
}

// TestAreaItemsWire: the items of a sequencer with area and IMO workers
// (fixes with their last cells, IMO routes, static reports adopting an
// MMSI) and an area worker's contacts go through the wire form and come
// back the same.
func TestAreaItemsWire(t *testing.T) {
	g := loadGeography()
	var items []detect.Item
	seq := detect.NewAreaSequencer(detect.DefaultConfig, g.land, g.ports, g.zones, func(detect.Event) {}, func(it detect.Item) { items = append(items, it) }, detect.Split{IMOs: 4, Reception: 4})
	recs := append(append(meetings(40, 5), imoSharing(40, 5)...), silences()...)
	sort.SliceStable(recs, func(i, j int) bool { return recTime(recs[i]).Before(recTime(recs[j])) })
	feedRecs(seq, recs)
	seq.Flush()
	aw := detect.NewAreaWorker(detect.DefaultConfig, g.land, g.ports, g.zones, detect.AreaPartition{}, func(it detect.Item) { items = append(items, it) })
	for i, n := 0, len(items); i < n; i++ {
		aw.Apply(&items[i])
	}
	kinds := map[detect.ItemKind]int{}
	adopted, routed, gaps, counts := 0, 0, 0, 0
	for _, it := range items {
		kinds[it.Kind]++
		if it.Adopt != nil {
			adopted++
		}
		if it.IMOParts != 0 {
			routed++
		}
		if it.Gap != nil {
			gaps++
		}
		if it.Counts {
			counts++
		}
	}
	if kinds[detect.ItemContact] == 0 || adopted == 0 || routed == 0 || gaps == 0 || counts == 0 {
		t.Fatalf("kinds %v, %d adopting, %d routed: the set tests little", kinds, adopted, routed)
	}
	got, err := detect.DecodeItems(detect.AppendItems(nil, items))
	if err != nil {
		t.Fatal(err)
	}
	text := func(it detect.Item) string {
		a, f, g := it.Adopt, it.Fix, it.Gap
		it.Adopt, it.Fix.Extra, it.Gap = nil, nil, nil
		s := fmt.Sprintf("%+v %q", it, f.Source())
		if g != nil {
			s += fmt.Sprintf(" gap %+v", *g)
		}
		if r := detect.StaticIn(&f); r != nil {
			s += fmt.Sprintf(" %+v", *r)
		}
		if a != nil {
			s += fmt.Sprintf(" adopt %v %v %v %v %v %q", a.LastT, a.LastLat, a.LastLon, a.LastSeg, a.IMO, a.Name)
			for _, sg := range a.Segments {
				sg.Last.Extra = nil
				s += fmt.Sprintf(" %+v", sg)
			}
		}
		return s
	}
	if len(got) != len(items) {
		t.Fatalf("%d items, want %d", len(got), len(items))
	}
	for i := range items {
		if a, b := text(got[i]), text(items[i]); a != b {
			t.Fatalf("item %d:\n got %s\nwant %s", i, a, b)
		}
	}
	t.Logf("%d items %v (%d adopting an MMSI, %d routed to IMO workers, %d counting, %d ending gaps) round trip", len(items), kinds, adopted, routed, counts, gaps)
}

// silences is a ship silent for 13 hours mid-Atlantic in the 1-degree
// cell at 40N 40W, on the corner of four reception tiles, while a ship
// in each of the 8 cells around (and one in its own) keeps reporting.
func silences() []rec {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var out []rec
	for at := time.Duration(0); at < 17*time.Hour; at += 3 * time.Minute {
		if at < 2*time.Hour || at >= 15*time.Hour {
			out = append(out, rec{f: track.Fix{MMSI: 636009001, Time: track.TimeOf(t0.Add(at)), Lat: 40.5, Lon: -39.5 + at.Hours()*0.001, SOG: 5, COG: 90}})
		}
		if at%(10*time.Minute) != 0 {
			continue
		}
		i := uint32(0)
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				i++
				out = append(out, rec{f: track.Fix{MMSI: 636009100 + i, Time: track.TimeOf(t0.Add(at + time.Duration(i)*time.Second)),
					Lat: 40.5 + float64(dy), Lon: -39.5 + float64(dx) + at.Hours()*0.001, SOG: 5, COG: 90}})
			}
		}
	}
	out = append(out, rec{st: &detect.StaticReport{MMSI: 636009001, Time: track.TimeOf(t0.Add(time.Minute)), Name: "SILENT", Source: "test"}})
	sort.SliceStable(out, func(i, j int) bool { return recTime(out[i]).Before(recTime(out[j])) })
	return out
}

// TestReceptionHalo: the silent ship's gap, whose reception counts come
// from cells of other reception partitions (each counted by the owners
// of the cells around it too), is the Engine's for 1, 2 and 4 reception
// workers: the same ship-hours nearby, reception continued, deliberate;
// and so when the stages are checkpointed and restored mid-silence.
func TestReceptionHalo(t *testing.T) {
	g := loadGeography()
	recs := silences()
	var want []detect.Event
	e := detect.NewEngine(detect.DefaultConfig, g.land, g.ports, g.zones, func(ev detect.Event) { want = append(want, ev) })
	feedRecs(e, recs)
	e.Flush()
	var gap *detect.Event
	for i := range want {
		if want[i].Kind == detect.KindGap {
			gap = &want[i]
		}
	}
	if gap == nil || gap.Details.OtherShipHoursNearby == nil || *gap.Details.OtherShipHoursNearby < 80 || !gap.Details.LikelyDeliberate {
		t.Fatalf("the engine's gap: %+v", gap)
	}
	for _, n := range []int{1, 2, 4} {
		p := detect.Partition{Index: 0, Count: n}
		for i := range n {
			if (detect.Partition{Index: i, Count: n}).OwnsDegree(40, -40) {
				p.Index = i
			}
		}
		others := 0
		for dy := int16(-1); dy <= 1; dy++ {
			for dx := int16(-1); dx <= 1; dx++ {
				if !p.OwnsDegree(40+dy, -40+dx) {
					others++
				}
			}
		}
		if n > 1 && others == 0 {
			t.Errorf("%d partitions: the 9 cells all one partition's: the test tests nothing", n)
		}
		s := newAreaSplit(t, detect.DefaultConfig, g, n, n, 1, n, n > 1)
		feedRecs(s.seq, recs)
		s.seq.Flush()
		sameEvents(t, fmt.Sprintf("%d reception workers", n), s.events(), want)
		if r := s.rejected(); r != 0 {
			t.Errorf("%d reception workers: %d items rejected", n, r)
		}
		// Cut by a checkpoint in the middle of the silence.
		k := newAreaSplit(t, detect.DefaultConfig, g, n, n, 1, n, n > 1)
		feedRecs(k.seq, recs[:len(recs)/2])
		k.checkpoint()
		feedRecs(k.seq, recs[len(recs)/2:])
		k.seq.Flush()
		sameEvents(t, fmt.Sprintf("%d reception workers, cut", n), k.events(), want)
		t.Logf("%d reception workers: %d of the 9 cells another partition's; gap %v ship-hours nearby", n, others, *gap.Details.OtherShipHoursNearby)
	}
}

// TestEncounterAcrossAntimeridian: two ships 100 m apart on either side
// of longitude 180 meet for four hours: one encounter, placed at the
// antimeridian (not at longitude 0, the mean of 179.9995 and -179.9995),
// from the engine and from 1 and 2 area workers alike (it saw none: the
// cells west of -180 were never scanned).
func TestEncounterAcrossAntimeridian(t *testing.T) {
	const lat = 10.21
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var fixes []track.Fix
	for i := range 4 * 60 {
		at := t0.Add(time.Duration(i) * time.Minute)
		fixes = append(fixes, track.Fix{MMSI: 412000001, Time: track.TimeOf(at), Lat: lat, Lon: 179.9995, SOG: 0.4, COG: 90},
			track.Fix{MMSI: 352000002, Time: track.TimeOf(at.Add(30 * time.Second)), Lat: lat + 0.0001, Lon: -179.9995, SOG: 0.4, COG: 90})
	}
	g := loadGeography()
	cfg := detect.DefaultConfig
	want := engineOnFixes(cfg, g, fixes)
	var enc []detect.Event
	for _, ev := range want {
		if ev.Kind == detect.KindEncounter {
			enc = append(enc, ev)
		}
	}
	if len(enc) != 1 || math.Abs(enc[0].Lon) < 179.99 {
		t.Fatalf("the engine: %d encounters, want 1 at the antimeridian: %+v", len(enc), enc)
	}
	for _, n := range []int{1, 2} {
		s := splitOnFixes(t, cfg, g, fixes, n, n, 1, 2, n > 1)
		sameEvents(t, fmt.Sprintf("two ships across the antimeridian, %d area workers", n), s.events(), want)
	}
}

// TestGapReceptionAcrossAntimeridian: a ship silent for 8 hours at
// longitude 179.5 while another is heard every 10 minutes at -179.5 (the
// neighbouring 1-degree cell, across 180): reception continued, as the
// engine and 1 to 4 reception workers say alike (the cells east of 179
// were never counted).
func TestGapReceptionAcrossAntimeridian(t *testing.T) {
	const lat = 10.5
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var fixes []track.Fix
	for i := range 12 * 6 {
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		if i < 6 || i >= 9*6 { // silent from 01:00 to 09:00
			fixes = append(fixes, track.Fix{MMSI: 412000001, Time: track.TimeOf(at), Lat: lat, Lon: 179.5, SOG: 0.4, COG: 90})
		}
		fixes = append(fixes, track.Fix{MMSI: 352000002, Time: track.TimeOf(at.Add(time.Minute)), Lat: lat + 0.2, Lon: -179.5 + float64(i)*0.001, SOG: 8, COG: 90})
	}
	g := loadGeography()
	cfg := detect.DefaultConfig
	want := engineOnFixes(cfg, g, fixes)
	var gaps []detect.Event
	for _, ev := range want {
		if ev.Kind == detect.KindGap && ev.Vessels[0].MMSI == 412000001 {
			gaps = append(gaps, ev)
		}
	}
	if len(gaps) != 1 || gaps[0].Details.ReceptionContinued == nil || !*gaps[0].Details.ReceptionContinued || *gaps[0].Details.OtherShipHoursNearby == 0 {
		t.Fatalf("the engine: %d gaps, want 1 with reception continued: %+v", len(gaps), gaps)
	}
	for _, n := range []int{1, 2, 3, 4} {
		s := splitOnFixes(t, cfg, g, fixes, n, n, n, n, n > 1)
		sameEvents(t, fmt.Sprintf("a gap beside reception across the antimeridian, %d workers", n), s.events(), want)
	}
}

// engineOnFixes is the events of one Engine fed the fixes, then flushed.
func engineOnFixes(cfg detect.Config, g geography, fixes []track.Fix) []detect.Event {
	var out []detect.Event
	e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { out = append(out, ev) })
	for _, f := range fixes {
		e.Position(f)
	}
	e.Flush()
	return out
}

// splitOnFixes is an area split (newAreaSplit's shape) fed the fixes,
// then flushed.
func splitOnFixes(t testing.TB, cfg detect.Config, g geography, fixes []track.Fix, na, np, nv, ni int, wire bool) *areaSplit {
	s := newAreaSplit(t, cfg, g, na, np, nv, ni, wire)
	for _, f := range fixes {
		s.seq.Position(f)
	}
	s.seq.Flush()
	return s
}
