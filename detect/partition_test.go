package detect_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/sim"
)

// splitScenario is a multi-day simulated set with every planted case
// (encounters, dark periods, an MMSI shared by two ships, identity
// changes, a DPRK port call) among 200 background ships over 50 hours.
func splitScenario(t testing.TB) []byte {
	t.Helper()
	nmea, _ := simNMEA(t, func(sc *sim.Scenario) {
		sc.Background, sc.Duration, sc.Interval, sc.Seed = 200, 50*time.Hour, 3*time.Minute, 7
	})
	return nmea
}

// runPart feeds the whole input to an engine of one partition and flushes.
func runPart(t testing.TB, nmea []byte, part detect.Partition, land *geo.Land, ports *geo.Ports, zones []*geo.Zone) []detect.Event {
	t.Helper()
	var evs []detect.Event
	eng := detect.NewEngine(detect.DefaultConfig, land, ports, zones, func(e detect.Event) { evs = append(evs, e) })
	eng.Part = part
	r, err := ais.NewReader(bytes.NewReader(nmea))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := detect.FeedAISConcurrent(eng, r); err != io.EOF {
		t.Fatal(err)
	}
	eng.Flush()
	return evs
}

func sortedJSON(t testing.TB, evs []detect.Event) []string {
	t.Helper()
	out := make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// TestSplitSameEvents: the events of 1, 2, 3, 4 and 7 partitions, put
// together, are byte for byte the events of one engine, each emitted by
// exactly one partition, and every kind of event is among them.
func TestSplitSameEvents(t *testing.T) {
	nmea := splitScenario(t)
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	one := runPart(t, nmea, detect.Partition{}, land, ports, zones)
	want := sortedJSON(t, one)
	kinds := map[string]int{}
	for _, e := range one {
		kinds[e.Kind]++
	}
	for _, k := range []string{detect.KindEncounter, detect.KindGap, detect.KindPortCall, detect.KindIdentityChange, detect.KindIdentityConflict, detect.KindZoneEntry} {
		if kinds[k] == 0 {
			t.Errorf("the scenario has no %s event: the test would not cover it (%v)", k, kinds)
		}
	}
	t.Logf("%d events from one engine: %v", len(one), kinds)
	for _, n := range []int{1, 2, 3, 4, 7} {
		var all []detect.Event
		shares := make([]int, n)
		for i := range n {
			evs := runPart(t, nmea, detect.Partition{Index: i, Count: n}, land, ports, zones)
			shares[i] = len(evs)
			all = append(all, evs...)
		}
		got := sortedJSON(t, all)
		if len(got) != len(want) {
			t.Errorf("%d partitions: %d events (shares %v), one engine %d", n, len(got), shares, len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%d partitions: event %d differs:\n got %s\nwant %s", n, i, got[i], want[i])
				break
			}
		}
		if n > 1 {
			for i, s := range shares {
				if s == 0 {
					t.Errorf("%d partitions: partition %d emitted nothing (%v)", n, i, shares)
				}
			}
		}
	}
}

// BenchmarkPartitionShare times one partition's engine, decoding
// included (FeedAIS, one goroutine), over 2,000 ships for 12 hours at
// 60-second reports: what a worker of 1, 2 or 4 partitions spends on
// detection. Each partition still decodes and tracks every vessel
// (docs/scale.md), so its share does not fall as 1/n.
func BenchmarkPartitionShare(b *testing.B) {
	nmea := shareBenchNMEA(b)
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("of%d", n), func(b *testing.B) {
			var fixes int64
			cpu := startCPU()
			for i := 0; i < b.N; i++ {
				e := detect.NewEngine(detect.DefaultConfig, land, ports, zones, func(detect.Event) {})
				e.Part = detect.Partition{Index: 0, Count: n}
				r, _ := ais.NewReader(bytes.NewReader(nmea))
				p, _, err := detect.FeedAIS(e, r)
				if err != io.EOF {
					b.Fatal(err)
				}
				e.Flush()
				fixes += p
			}
			cpu.report(b)
			b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
		})
	}
}

// cpuClock is the process's CPU time (user and system, every thread: the
// garbage collector's too) when a benchmark began: on a machine shared
// with other work, CPU time says more than the wall time.
type cpuClock time.Duration

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock(processCPU()) }

// report gives the CPU milliseconds per operation since start.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-time.Duration(c))/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// shareBenchNMEA is 2,000 ships for 12 hours at 60-second reports.
func shareBenchNMEA(b *testing.B) []byte {
	b.Helper()
	nmea, _ := simNMEA(b, func(sc *sim.Scenario) { sc.Background, sc.Duration, sc.Interval = 2000, 12*time.Hour, time.Minute })
	return nmea
}

// BenchmarkStages times the two stages apart over BenchmarkPartitionShare's
// input (run them together: -bench 'PartitionShare|Stages'):
// "sequencer", decoding included (FeedAIS, one goroutine), handing its
// items to nothing; and "worker/ofN", the vessel worker of one partition
// of N applying its share of the sequencer's items (recorded once,
// outside the timing; what the transport costs is not in it). Both are
// reported in fixes of the whole input a second, as PartitionShare is:
// the sequencer's rate bounds the pipeline, a worker's should grow with N.
func BenchmarkStages(b *testing.B) {
	nmea := shareBenchNMEA(b)
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	cfg := detect.DefaultConfig
	var items []detect.Item
	var positions int64
	{
		seq := detect.NewSequencer(cfg, land, ports, zones, func(detect.Event) {}, func(it detect.Item) { items = append(items, it) })
		r, _ := ais.NewReader(bytes.NewReader(nmea))
		p, _, err := detect.FeedAIS(seq, r)
		if err != io.EOF {
			b.Fatal(err)
		}
		seq.Flush()
		positions = p
	}
	b.Run("sequencer", func(b *testing.B) {
		var fixes, sent int64
		cpu := startCPU()
		for b.Loop() {
			seq := detect.NewSequencer(cfg, land, ports, zones, func(detect.Event) {}, func(detect.Item) { sent++ })
			r, _ := ais.NewReader(bytes.NewReader(nmea))
			p, _, err := detect.FeedAIS(seq, r)
			if err != io.EOF {
				b.Fatal(err)
			}
			seq.Flush()
			fixes += p
		}
		cpu.report(b)
		b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
	})
	for _, n := range []int{1, 2, 4} {
		part := detect.Partition{Index: 0, Count: n}
		var share []detect.Item
		for i := range items {
			if items[i].For(part) {
				share = append(share, items[i])
			}
		}
		b.Run(fmt.Sprintf("worker/of%d", n), func(b *testing.B) {
			var fixes, evs int64
			cpu := startCPU()
			for b.Loop() {
				w := detect.NewVesselWorker(cfg, land, ports, zones, part, func(detect.Event) { evs++ })
				for i := range share {
					w.Apply(&share[i])
				}
				if w.Rejected() != 0 {
					b.Fatalf("%d items rejected", w.Rejected())
				}
				fixes += positions
			}
			cpu.report(b)
			b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
			b.ReportMetric(float64(len(share)), "items")
		})
	}
}
