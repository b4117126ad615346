package detect_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/sim"
)

// stageBenchNMEA is two hours of 3,000 simulated ships reporting every
// minute (about 360,000 tag-blocked lines): enough ships that their state
// does not all sit in cache, as on the 10,000-ship day.
func stageBenchNMEA(b *testing.B) []byte {
	b.Helper()
	nmea, _ := simNMEA(b, func(sc *sim.Scenario) { sc.Background, sc.Duration = 3000, 2*time.Hour })
	return nmea
}

// BenchmarkEndToEnd: read, decode, reorder (10-minute window) and every
// detector, on the two goroutines of FeedAISConcurrent, as 'tidewatch
// detect' runs them. Reported per position fix.
func BenchmarkEndToEnd(b *testing.B) {
	nmea := stageBenchNMEA(b)
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	cfg := detect.DefaultConfig
	cfg.ReorderLatenessMinutes = 10
	var fixes int64
	for b.Loop() {
		eng := detect.NewEngine(cfg, land, ports, zones, func(detect.Event) {})
		r, _ := ais.NewReader(bytes.NewReader(nmea))
		n, _, err := detect.FeedAISConcurrent(eng, r)
		if err != io.EOF {
			b.Fatal(err)
		}
		eng.Flush()
		fixes += n
	}
	b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
}

// BenchmarkAreaStages times the sequencer with and without the
// encounter grid, and the area stage apart, over BenchmarkStages' input
// (2,000 ships for 12 hours): "sequencer" (NewSequencer) and
// "sequencer/areas" (NewAreaSequencer), decoding included, items handed
// to nothing; "area/ofN", area worker 0 of N on its items (ForArea,
// decoded beforehand); "pairs/of1", the pair worker on every item and
// contact (its work is proportional to the contacts: few here);
// "sequencer/areas-imo4" routing to 4 IMO workers ("-rec4": and 4
// reception workers), and "imo/0of4" the first IMO worker on its items. CPU of the whole process per pass.
func BenchmarkAreaStages(b *testing.B) {
	nmea := shareBenchNMEA(b)
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	cfg := detect.DefaultConfig
	var items []detect.Item
	var positions int64
	{
		seq := detect.NewAreaSequencer(cfg, land, ports, zones, func(detect.Event) {}, func(it detect.Item) { items = append(items, it) }, detect.Split{})
		r, _ := ais.NewReader(bytes.NewReader(nmea))
		p, _, err := detect.FeedAIS(seq, r)
		if err != io.EOF {
			b.Fatal(err)
		}
		seq.Flush()
		positions = p
	}
	for _, v := range []struct {
		name             string
		areas, imos, rec int
	}{{"sequencer", 0, 0, 0}, {"sequencer/areas", 1, 0, 0}, {"sequencer/areas-imo4", 1, 4, 0}, {"sequencer/areas-imo4-rec4", 1, 4, 4}} {
		b.Run(v.name, func(b *testing.B) {
			var fixes, sent int64
			cpu := startCPU()
			for b.Loop() {
				seq := detect.NewSequencer(cfg, land, ports, zones, func(detect.Event) {}, func(detect.Item) { sent++ })
				if v.areas > 0 {
					seq = detect.NewAreaSequencer(cfg, land, ports, zones, func(detect.Event) {}, func(detect.Item) { sent++ }, detect.Split{IMOs: v.imos, Reception: v.rec})
				}
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
	}
	var merged []detect.Item // every item, each fix's contacts after it
	for _, n := range []int{1, 2, 4} {
		part := detect.AreaPartition{Index: 0, Count: n}
		var share []detect.Item
		for i := range items {
			if items[i].ForArea(part) {
				share = append(share, items[i])
			}
		}
		all := 0 // the items of every partition: the halo's copies
		for j := range n {
			for i := range items {
				if items[i].ForArea(detect.AreaPartition{Index: j, Count: n}) {
					all++
				}
			}
		}
		if n == 1 {
			var contacts []detect.Item
			w := detect.NewAreaWorker(cfg, land, ports, zones, part, func(it detect.Item) { contacts = append(contacts, it) })
			for i := range items {
				w.Apply(&items[i])
				merged = append(merged, items[i])
				merged = append(merged, contacts...)
				contacts = contacts[:0]
			}
		}
		b.Run(fmt.Sprintf("area/of%d", n), func(b *testing.B) {
			var fixes, contacts int64
			cpu := startCPU()
			for b.Loop() {
				w := detect.NewAreaWorker(cfg, land, ports, zones, part, func(detect.Item) { contacts++ })
				for i := range share {
					w.Apply(&share[i])
				}
				fixes += positions
			}
			cpu.report(b)
			b.ReportMetric(float64(fixes)/b.Elapsed().Seconds(), "fixes/s")
			b.ReportMetric(float64(len(share)), "items")
			b.ReportMetric(float64(all), "all-items")
		})
	}
	{
		// The IMO workers' items: a sequencer routing to 4 partitions.
		var all []detect.Item
		seq := detect.NewAreaSequencer(cfg, land, ports, zones, func(detect.Event) {}, func(it detect.Item) { all = append(all, it) }, detect.Split{IMOs: 4})
		r, _ := ais.NewReader(bytes.NewReader(nmea))
		if _, _, err := detect.FeedAIS(seq, r); err != io.EOF {
			b.Fatal(err)
		}
		seq.Flush()
		var share []detect.Item
		for i := range all {
			if all[i].ForIMO(detect.Partition{Index: 0, Count: 4}) {
				share = append(share, all[i])
			}
		}
		b.Run("imo/0of4", func(b *testing.B) {
			cpu := startCPU()
			for b.Loop() {
				w := detect.NewIMOWorker(cfg, land, ports, zones, detect.Partition{Index: 0, Count: 4}, func(detect.Event) {})
				for i := range share {
					w.Apply(&share[i])
				}
				if w.Rejected() != 0 {
					b.Fatalf("%d items rejected", w.Rejected())
				}
			}
			cpu.report(b)
			b.ReportMetric(float64(len(share)), "items")
			b.ReportMetric(float64(len(all)), "all-items")
		})
	}
	b.Run("pairs/of1", func(b *testing.B) {
		cpu := startCPU()
		for b.Loop() {
			w := detect.NewPairWorker(cfg, land, ports, zones, detect.Partition{}, func(detect.Event) {})
			for i := range merged {
				w.Apply(&merged[i])
			}
		}
		cpu.report(b)
		b.ReportMetric(float64(len(merged)-len(items)), "contacts")
	})
}
