package detect_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
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
	sc := sim.DefaultScenario
	sc.Background, sc.Duration, sc.Interval, sc.Seed = 200, 50*time.Hour, 3*time.Minute, 7
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, io.Discard); err != nil {
		t.Fatal(err)
	}
	return nmea.Bytes()
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
	sc := sim.DefaultScenario
	sc.Background, sc.Duration, sc.Interval = 2000, 12*time.Hour, time.Minute
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, io.Discard); err != nil {
		b.Fatal(err)
	}
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("of%d", n), func(b *testing.B) {
			var fixes int64
			for i := 0; i < b.N; i++ {
				e := detect.NewEngine(detect.DefaultConfig, land, ports, zones, func(detect.Event) {})
				e.Part = detect.Partition{Index: 0, Count: n}
				r, _ := ais.NewReader(bytes.NewReader(nmea.Bytes()))
				p, _, err := detect.FeedAIS(e, r)
				if err != io.EOF {
					b.Fatal(err)
				}
				e.Flush()
				fixes += p
			}
			b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
		})
	}
}
