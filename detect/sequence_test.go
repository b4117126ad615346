package detect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/sim"
	"github.com/tidewatch/tidewatch/track"
)

// geography is land, ports and the built-in zones.
type geography struct {
	land  *geo.Land
	ports *geo.Ports
	zones []*geo.Zone
}

func loadGeography() geography {
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	return geography{land, ports, zones}
}

// designated marks a few MMSIs and IMOs as designated, so the events that
// depend on the lists (designated identities, encounter counterparts,
// severities) are compared too.
func designated(imo, mmsi uint32) (string, string, bool) {
	if mmsi%53 == 0 || (imo != 0 && imo%7 == 0) {
		return "test list", "PA", true
	}
	return "", "", false
}

// observed is what Observe saw and what was emitted, in order: a line
// per fix (MMSI, time, position, segment) and per event (its JSON).
type observed struct{ entries []entry }

type entry struct {
	mmsi uint32
	ev   *detect.Event
	line string
}

func (o *observed) observe(f track.Fix, seg int) {
	o.entries = append(o.entries, entry{mmsi: f.MMSI, line: "fix " + strings.Join([]string{
		itoa(int64(f.MMSI)), itoa(f.Time.Unix()), ftoa(f.Lat), ftoa(f.Lon), itoa(int64(seg))}, " ")})
}

func (o *observed) event(ev detect.Event) {
	b, _ := json.Marshal(ev)
	o.entries = append(o.entries, entry{ev: &ev, line: "event " + string(b)})
}

// sequencerEvent says the sequencer, not a vessel worker, emits the
// event: encounters, gaps, one IMO on two MMSIs, an IMO handed over.
func sequencerEvent(ev *detect.Event) bool {
	switch ev.Kind {
	case detect.KindEncounter, detect.KindGap:
		return true
	case detect.KindIdentityConflict:
		return ev.Details.Reason == "one_imo_two_mmsi"
	case detect.KindIdentityChange:
		return ev.Details.Field == "mmsi"
	}
	return false
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// engineRun feeds the input to one Engine and flushes: today's results.
func engineRun(t testing.TB, cfg detect.Config, g geography, inputs []input) ([]detect.Event, *observed, int64) {
	t.Helper()
	var evs []detect.Event
	obs := &observed{}
	e := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { evs = append(evs, ev); obs.event(ev) })
	e.Designated = designated
	e.Observe = obs.observe
	for _, in := range inputs {
		feed(t, e, in)
	}
	e.Flush()
	return evs, obs, e.Evictions()
}

// input is NMEA, or a file (NMEA, gzipped or not, or a decoded CSV).
type input struct {
	nmea []byte
	path string
}

func feed(t testing.TB, e *detect.Engine, in input) {
	t.Helper()
	var src ais.Source
	if in.path != "" {
		s, c, err := ais.OpenInput(context.Background(), in.path, ais.FeedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		src = s
	} else {
		r, err := ais.NewReader(bytes.NewReader(in.nmea))
		if err != nil {
			t.Fatal(err)
		}
		src = r
	}
	if _, _, err := detect.FeedAISConcurrent(e, src); err != io.EOF {
		t.Fatal(err)
	}
}

func nmeaInputs(parts ...[]byte) []input {
	var out []input
	for _, p := range parts {
		out = append(out, input{nmea: p})
	}
	return out
}

// split is a sequencer and n vessel workers, the items handed over in
// order, each worker given those For its partition.
type split struct {
	t       testing.TB
	cfg     detect.Config
	g       geography
	n       int
	seq     *detect.Engine
	workers []*detect.VesselWorker
	seqEvs  []detect.Event
	wEvs    [][]detect.Event
	obs     []*observed
	items   int64
	// wire: each worker's items are queued and handed over in batches
	// through their wire form (AppendItems, DecodeItems), the workers
	// running behind the sequencer as over a transport.
	wire   bool
	queues [][]detect.Item
	bytes  int64
}

func newSplit(t testing.TB, cfg detect.Config, g geography, n int, wire bool) *split {
	s := &split{t: t, cfg: cfg, g: g, n: n, wEvs: make([][]detect.Event, n), wire: wire, queues: make([][]detect.Item, n)}
	for range n {
		s.obs = append(s.obs, &observed{})
	}
	s.build()
	return s
}

// build makes new stages emitting into s.
func (s *split) build() {
	cfg, g := s.cfg, s.g
	s.seq = detect.NewSequencer(cfg, g.land, g.ports, g.zones, func(ev detect.Event) { s.seqEvs = append(s.seqEvs, ev) }, s.send)
	s.seq.Designated = designated
	s.workers = nil
	for i := range s.n {
		w := detect.NewVesselWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: i, Count: s.n}, func(ev detect.Event) {
			s.wEvs[i] = append(s.wEvs[i], ev)
			s.obs[i].event(ev)
		})
		w.Observe, w.Designated = s.obs[i].observe, designated
		s.workers = append(s.workers, w)
	}
}

func (s *split) send(it detect.Item) {
	s.items++
	taken := 0
	for i, w := range s.workers {
		if it.For(detect.Partition{Index: i, Count: s.n}) {
			taken++
			if s.wire {
				if s.queues[i] = append(s.queues[i], it); len(s.queues[i]) == 4096 {
					s.handOver(i)
				}
				continue
			}
		}
		if !s.wire {
			w.Apply(&it) // a worker skips the items not for it
		}
	}
	if want := 1; it.Tick() {
		if taken != s.n {
			s.t.Fatalf("tick taken by %d of %d workers", taken, s.n)
		}
	} else if taken != want {
		s.t.Fatalf("item of MMSI %d taken by %d workers", it.Fix.MMSI, taken)
	}
}

// handOver gives worker i its queued items through their wire form.
func (s *split) handOver(i int) {
	if len(s.queues[i]) == 0 {
		return
	}
	b := detect.AppendItems(nil, s.queues[i])
	s.bytes += int64(len(b))
	clear(s.queues[i])
	s.queues[i] = s.queues[i][:0]
	items, err := detect.DecodeItems(b)
	if err != nil {
		s.t.Fatal(err)
	}
	for k := range items {
		s.workers[i].Apply(&items[k])
	}
}

func (s *split) handOverAll() {
	for i := range s.queues {
		s.handOver(i)
	}
}

// checkpoint checkpoints every stage (each reports its open occurrences)
// and goes on with new stages restored from the checkpoints.
func (s *split) checkpoint() {
	t := s.t
	t.Helper()
	state := s.seq.Checkpoint()
	s.handOverAll() // a worker's checkpoint follows the items before the sequencer's
	ws := make([][]byte, s.n)
	var rejected int64
	for i, w := range s.workers {
		ws[i] = w.Checkpoint()
		rejected += w.Rejected()
	}
	if rejected != 0 {
		t.Errorf("%d items rejected before the checkpoint", rejected)
	}
	s.build()
	if err := s.seq.Restore(state); err != nil {
		t.Fatal(err)
	}
	for i, w := range s.workers {
		if err := w.Restore(ws[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *split) events() []detect.Event {
	out := append([]detect.Event(nil), s.seqEvs...)
	for _, w := range s.wEvs {
		out = append(out, w...)
	}
	return out
}

func (s *split) rejected() int64 {
	var n int64
	for _, w := range s.workers {
		n += w.Rejected()
	}
	return n
}

// splitRun feeds the inputs to a sequencer and n workers and flushes.
func splitRun(t testing.TB, cfg detect.Config, g geography, n int, wire bool, inputs []input) *split {
	t.Helper()
	s := newSplit(t, cfg, g, n, wire)
	for _, in := range inputs {
		feed(t, s.seq, in)
	}
	s.seq.Flush()
	s.handOverAll()
	return s
}

// sameEvents compares sorted JSON, byte for byte.
func sameEvents(t *testing.T, name string, got, want []detect.Event) {
	t.Helper()
	g, w := sortedJSON(t, got), sortedJSON(t, want)
	if len(g) != len(w) {
		t.Errorf("%s: %d events, the engine %d", name, len(g), len(w))
	}
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			t.Errorf("%s: event %d differs:\n got %s\nwant %s", name, i, g[i], w[i])
			return
		}
	}
}

// sameObserved compares what each worker emitted and observed, in its
// order, with what the engine did for the worker's share (its MMSIs'
// fixes and the events a worker emits of them): the same lines in the
// same order, so the workers' events come at the same points of their
// vessels' fixes. Without events (a run with checkpoints, which report
// open versions the engine's run has not), the fixes only.
func sameObserved(t *testing.T, name string, s *split, want *observed, events bool) {
	t.Helper()
	for i, o := range s.obs {
		p := detect.Partition{Index: i, Count: s.n}
		var w, got []string
		for _, en := range want.entries {
			if en.ev == nil && p.OwnsMMSI(en.mmsi) || en.ev != nil && events && !sequencerEvent(en.ev) && p.Owns(en.ev) {
				w = append(w, en.line)
			}
		}
		for _, en := range o.entries {
			if en.ev == nil || events {
				got = append(got, en.line)
			}
			if en.ev != nil && sequencerEvent(en.ev) {
				t.Errorf("%s: worker %d emitted %s", name, i, en.line)
			}
		}
		if len(got) != len(w) {
			t.Errorf("%s: worker %d: %d lines (fixes observed, events), the engine %d", name, i, len(got), len(w))
		}
		for k := range min(len(got), len(w)) {
			if got[k] != w[k] {
				t.Errorf("%s: worker %d: line %d differs:\n got %s\nwant %s", name, i, k, got[k], w[k])
				break
			}
		}
	}
}

func checkSplit(t *testing.T, name string, cfg detect.Config, g geography, inputs []input, everyWorker bool) {
	t.Helper()
	want, obs, evicted := engineRun(t, cfg, g, inputs)
	kinds := map[string]int{}
	for _, e := range want {
		kinds[e.Kind]++
	}
	t.Logf("%s: the engine: %d events %v, %d observed, %d evictions", name, len(want), kinds, len(obs.entries)-len(want), evicted)
	for _, n := range []int{1, 2, 4} {
		// One worker takes the items as they come; 2 and 4 in batches
		// through the wire form.
		wire := n > 1
		s := splitRun(t, cfg, g, n, wire, inputs)
		sub := name + ", " + itoa(int64(n)) + " workers"
		if wire {
			sub += " (wire)"
		}
		sameEvents(t, sub, s.events(), want)
		sameObserved(t, sub, s, obs, true)
		if r := s.rejected(); r != 0 {
			t.Errorf("%s: %d items rejected", sub, r)
		}
		if s.seq.Evictions() != evicted {
			t.Errorf("%s: the sequencer evicted %d, the engine %d", sub, s.seq.Evictions(), evicted)
		}
		if n > 1 && everyWorker {
			for i, evs := range s.wEvs {
				if len(evs) == 0 {
					t.Errorf("%s: worker %d emitted nothing", sub, i)
				}
			}
		}
		t.Logf("%s: %d items (%d bytes on the wire); %d events from the sequencer, workers %v", sub, s.items, s.bytes, len(s.seqEvs), lens(s.wEvs))
	}
}

func lens(x [][]detect.Event) []int {
	out := make([]int, len(x))
	for i := range x {
		out[i] = len(x[i])
	}
	return out
}

// TestSequencerWorkersSameEvents: a sequencer and 1, 2 or 4 vessel
// workers emit, together, exactly the events of one Engine (sorted JSON,
// byte for byte), each worker's Observe sees exactly the engine's fixes
// of its MMSIs in the same order, and no item is rejected: on the
// simulated set with every planted case, on the same with a vessel cap
// that evicts, and (not in -short) on 2,000 ships for 12 hours.
func TestSequencerWorkersSameEvents(t *testing.T) {
	g := loadGeography()
	nmea := splitScenario(t)
	checkSplit(t, "planted cases", detect.DefaultConfig, g, nmeaInputs(nmea), true)
	cfg := detect.DefaultConfig
	cfg.MaxVessels = 60
	checkSplit(t, "planted cases, 60 vessels at most", cfg, g, nmeaInputs(nmea), true)
	if testing.Short() {
		return
	}
	big, _ := simNMEA(t, func(sc *sim.Scenario) { sc.Background, sc.Duration, sc.Interval = 2000, 12*time.Hour, time.Minute })
	checkSplit(t, "2,000 ships", detect.DefaultConfig, g, nmeaInputs(big), true)
}

// TestSequencerWorkersRealAIS: the same on every AIS file of
// shared/data/ais, each fed as a whole (real feeds: out of order,
// duplicates, shared and bad MMSIs, broken sentences).
func TestSequencerWorkersRealAIS(t *testing.T) {
	dir := "../../shared/data/ais"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skip("shared/data/ais not beside the repository")
	}
	g := loadGeography()
	cfg := detect.DefaultConfig
	cfg.ReorderLatenessMinutes = 24 * 60 // some files are far from time order
	n := 0
	for _, d := range ents {
		name := d.Name()
		if strings.HasSuffix(name, ".md") || strings.HasSuffix(name, ".jsonl") {
			continue
		}
		checkSplit(t, name, cfg, g, []input{{path: filepath.Join(dir, name)}}, false)
		n++
	}
	if n == 0 {
		t.Fatal("no AIS file")
	}
}

// TestSequencerWorkersCheckpoint: the 72-hour simulated set cut at the
// points TestCheckpointContinuity uses; at each cut the sequencer and
// every worker checkpoint (reporting their open occurrences) and new ones
// restored from the checkpoints go on. The latest version of each
// occurrence is the uncut Engine's, for 1, 2 and 4 workers; so are the
// fixes Observe saw.
func TestSequencerWorkersCheckpoint(t *testing.T) {
	g := loadGeography()
	nmea, sc := simNMEA(t, func(sc *sim.Scenario) { sc.Duration, sc.Background = 72*time.Hour, 30 })
	h := func(x float64) time.Time { return sc.Start.Add(time.Duration(x * float64(time.Hour))) }
	parts := cutAt(nmea, h(9), h(32), h(47.5), h(60.25))
	want, obs, _ := engineRun(t, detect.DefaultConfig, g, nmeaInputs(nmea))
	for _, n := range []int{1, 2, 4} {
		s := newSplit(t, detect.DefaultConfig, g, n, n > 1)
		for i, p := range parts {
			if i > 0 {
				s.checkpoint()
			}
			feed(t, s.seq, input{nmea: p})
		}
		s.seq.Flush()
		s.handOverAll()
		name := itoa(int64(n)) + " workers"
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
		var open int
		for _, e := range s.events() {
			if e.Status == detect.StatusOpen {
				open++
			}
		}
		if open == 0 {
			t.Errorf("%s: no open occurrence reported at the checkpoints: the cuts test nothing", name)
		}
		sameObserved(t, name, s, obs, false)
		if r := s.rejected(); r != 0 {
			t.Errorf("%s: %d items rejected", name, r)
		}
		t.Logf("%s: %d occurrences, %d open versions reported at %d checkpoints", name, len(got), open, len(parts)-1)
	}
}

// TestStageCheckpointsRefused: a stage's checkpoint is refused by the
// other stage, by a worker of another partition and by an Engine, with
// ErrCheckpointMismatch.
func TestStageCheckpointsRefused(t *testing.T) {
	g := loadGeography()
	cfg := detect.DefaultConfig
	s := newSplit(t, cfg, g, 2, false)
	feed(t, s.seq, input{nmea: splitScenario(t)})
	seqState, w0 := s.seq.Checkpoint(), s.workers[0].Checkpoint()
	eng := detect.NewEngine(cfg, g.land, g.ports, g.zones, func(detect.Event) {})
	for _, c := range []struct {
		name    string
		restore func([]byte) error
		state   []byte
	}{
		{"a worker's into the sequencer", detect.NewSequencer(cfg, g.land, g.ports, g.zones, func(detect.Event) {}, func(detect.Item) {}).Restore, w0},
		{"the sequencer's into a worker", detect.NewVesselWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 0, Count: 2}, func(detect.Event) {}).Restore, seqState},
		{"worker 0's into worker 1", detect.NewVesselWorker(cfg, g.land, g.ports, g.zones, detect.Partition{Index: 1, Count: 2}, func(detect.Event) {}).Restore, w0},
		{"the sequencer's into an Engine", eng.Restore, seqState},
		{"an Engine's into the sequencer", detect.NewSequencer(cfg, g.land, g.ports, g.zones, func(detect.Event) {}, func(detect.Item) {}).Restore, eng.Checkpoint()},
	} {
		if err := c.restore(c.state); err != detect.ErrCheckpointMismatch {
			t.Errorf("%s: %v, want ErrCheckpointMismatch", c.name, err)
		}
	}
}

// TestItemsWire: a batch's wire form decodes to the same items (a static
// report whole); another version, a truncated or a corrupted batch is an
// error, never a crash.
func TestItemsWire(t *testing.T) {
	var items []detect.Item
	seq := detect.NewSequencer(detect.DefaultConfig, nil, nil, nil, func(detect.Event) {}, func(it detect.Item) { items = append(items, it) })
	nmea := splitScenario(t)
	feed(t, seq, input{nmea: nmea})
	seq.Flush()
	kinds := map[detect.ItemKind]int{}
	for _, it := range items {
		kinds[it.Kind]++
	}
	for k := detect.ItemFix; k <= detect.ItemFlush; k++ {
		if k != detect.ItemEvicted && kinds[k] == 0 {
			t.Errorf("no item of kind %d", k)
		}
	}
	items = append(items, detect.Item{Kind: detect.ItemEvicted, Fix: track.Fix{MMSI: 7}})
	b := detect.AppendItems(nil, items)
	got, err := detect.DecodeItems(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d items, want %d", len(got), len(items))
	}
	text := func(it detect.Item) string {
		s := fmt.Sprintf("%d %d %d %v %v %v %d %v %v %v %v %v", it.Kind, it.Now, it.Fix.MMSI, it.Fix.Time, it.Fix.Lat, it.Fix.Lon, it.Segment, it.Started, it.Speed, it.Sweep, it.Fix.Source(), it.Fix.HasSOG())
		if it.Fix.HasSOG() {
			s += fmt.Sprint(" ", it.Fix.SOG, it.Fix.COG)
		}
		if r := detect.StaticIn(&it.Fix); r != nil {
			s += fmt.Sprintf(" %+v", *r)
		}
		return s
	}
	for i := range items {
		if a, b := text(got[i]), text(items[i]); a != b {
			t.Fatalf("item %d:\n got %s\nwant %s", i, a, b)
		}
	}
	t.Logf("%d items, %d bytes: %.1f bytes an item (the NMEA: %d bytes)", len(items), len(b), float64(len(b))/float64(len(items)), len(nmea))
	bad := [][]byte{nil, b[:len(b)/2], b[:len(b)-1], append(append([]byte(nil), b...), 0), []byte("twitems\x09\x00")}
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/3] ^= 0xff
	bad = append(bad, flipped)
	for i, x := range bad {
		if _, err := detect.DecodeItems(x); err == nil && i != len(bad)-1 {
			t.Errorf("bad batch %d decoded", i)
		}
	}
}

// TestWorkerCheckpointAnyItem: a vessel worker checkpointed after any
// item (here every 997th, and after each fix the sweep follows, before
// its ticks) and restored into a new one goes on exactly: each
// occurrence's latest version and the fixes observed are those of a
// worker that was never cut, for each worker of 2.
func TestWorkerCheckpointAnyItem(t *testing.T) {
	g := loadGeography()
	cfg := detect.DefaultConfig
	var items []detect.Item
	seq := detect.NewSequencer(cfg, g.land, g.ports, g.zones, func(detect.Event) {}, func(it detect.Item) { items = append(items, it) })
	seq.Designated = designated
	feed(t, seq, input{nmea: splitScenario(t)})
	seq.Flush()
	for i := range 2 {
		p := detect.Partition{Index: i, Count: 2}
		run := func(cut func(k int, it *detect.Item) bool) ([]detect.Event, *observed, int) {
			var evs []detect.Event
			obs := &observed{}
			mk := func() *detect.VesselWorker {
				w := detect.NewVesselWorker(cfg, g.land, g.ports, g.zones, p, func(ev detect.Event) { evs = append(evs, ev) })
				w.Observe, w.Designated = obs.observe, designated
				return w
			}
			w, cuts := mk(), 0
			for k := range items {
				w.Apply(&items[k])
				if cut(k, &items[k]) {
					state := w.Checkpoint()
					if r := w.Rejected(); r != 0 {
						t.Fatalf("%d items rejected", r)
					}
					w = mk()
					if err := w.Restore(state); err != nil {
						t.Fatal(err)
					}
					cuts++
				}
			}
			if r := w.Rejected(); r != 0 {
				t.Fatalf("%d items rejected", r)
			}
			return evs, obs, cuts
		}
		want, wantObs, _ := run(func(int, *detect.Item) bool { return false })
		sweeps := 0
		got, gotObs, cuts := run(func(k int, it *detect.Item) bool {
			if it.Kind == detect.ItemFix && it.Sweep && it.For(p) {
				sweeps++
				return true
			}
			return k%997 == 0
		})
		if sweeps == 0 {
			t.Fatal("no cut between a fix and the sweep after it")
		}
		if a, b := strings.Join(latest(got), "\n"), strings.Join(latest(want), "\n"); a != b {
			t.Errorf("worker %d of 2, cut %d times: the occurrences differ (%d, uncut %d)", i, cuts, len(latest(got)), len(latest(want)))
		}
		var a, b []string
		for _, en := range gotObs.entries {
			a = append(a, en.line)
		}
		for _, en := range wantObs.entries {
			b = append(b, en.line)
		}
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("worker %d of 2, cut %d times: observed %d fixes, uncut %d, or in another order", i, cuts, len(a), len(b))
		}
		t.Logf("worker %d of 2: cut %d times (%d between a fix and its sweep): %d occurrences, %d fixes observed", i, cuts, sweeps, len(latest(want)), len(b))
	}
}
