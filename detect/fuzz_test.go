package detect

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/geo"
	"github.com/tidewatch/tidewatch/track"
)

// FuzzEngine drives the engine with arbitrary fixes and static reports
// decoded from the fuzz input: it must not panic, and every event must
// have a kind, a vessel and an end not before its start.
func FuzzEngine(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef"))
	f.Add(make([]byte, 200))
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	f.Fuzz(func(t *testing.T, b []byte) {
		e := NewEngine(DefaultConfig, land, ports, zones, func(ev Event) {
			if ev.Kind == "" || len(ev.Vessels) == 0 || ev.End.Before(ev.Start) {
				t.Fatalf("bad event %+v", ev)
			}
		})
		for len(b) >= 12 {
			mmsi := uint32(b[0]%4) + 445000000
			dt := time.Duration(binary.LittleEndian.Uint16(b[1:3])) * time.Second
			lat := float64(int8(b[3]))/127*2 + 38
			lon := float64(int8(b[4]))/127*2 + 124
			sog := float64(b[5]) / 10
			if b[6]&1 == 1 {
				sog = math.NaN()
			}
			at := t0.Add(dt * time.Duration(1+b[7]%8))
			if b[8]%5 == 0 {
				e.Static(StaticReport{MMSI: mmsi, Time: at, IMO: uint32(binary.LittleEndian.Uint16(b[9:11])) * 150, Name: string(b[9:12]), ShipType: b[10], Draught: float64(b[11]) / 10, CallSign: "HM" + string(rune('A'+b[11]%26))})
			} else {
				e.Position(track.Fix{MMSI: mmsi, Time: at, Lat: lat, Lon: lon, SOG: sog, COG: math.NaN()})
			}
			b = b[12:]
		}
		e.Flush()
	})
}

// FuzzRestore restores arbitrary bytes (seeded with real checkpoints):
// a checkpoint that does not decode is an error, never a panic, and an
// engine restored from one that does goes on without panicking.
func FuzzRestore(f *testing.F) {
	e := NewEngine(DefaultConfig, nil, nil, nil, func(Event) {})
	for _, x := range path(445000001, 0, 9*time.Hour, 10*time.Minute, 38.2, 124.0, 0.5, 90) {
		e.Position(x)
	}
	for _, x := range path(352000002, 0, 9*time.Hour, 10*time.Minute, 38.2005, 124.0, 0.5, 90) {
		e.Position(x)
	}
	e.Static(StaticReport{MMSI: 445000001, Time: t0.Add(time.Hour), IMO: 9417115, Name: "A"})
	e.Static(StaticReport{MMSI: 445000001, Time: t0.Add(2 * time.Hour), IMO: 9417115, Name: "B", Draught: 5})
	f.Add(e.Checkpoint())
	f.Add(NewEngine(DefaultConfig, nil, nil, nil, func(Event) {}).Checkpoint())
	f.Fuzz(func(t *testing.T, b []byte) {
		e := NewEngine(DefaultConfig, nil, nil, nil, func(Event) {})
		if err := e.Restore(b); err != nil {
			return
		}
		for _, x := range path(445000001, 10*time.Hour, time.Hour, 10*time.Minute, 38.3, 124.1, 5, 0) {
			e.Position(x)
		}
		e.Checkpoint()
		e.Flush()
	})
}

// FuzzVesselWorker decodes arbitrary bytes as a batch of items (seeded
// with a real batch) and applies what decodes to a worker: a batch that
// does not decode is an error, never a panic; items that do not fit the
// worker's state are rejected, never a panic; its checkpoint restores.
func FuzzVesselWorker(f *testing.F) {
	var items []Item
	seq := NewSequencer(DefaultConfig, nil, nil, nil, func(Event) {}, func(it Item) { items = append(items, it) })
	for _, x := range path(445000001, 0, 9*time.Hour, 10*time.Minute, 38.2, 124.0, 0.5, 90) {
		seq.Position(x)
	}
	for _, x := range path(352000002, 0, 9*time.Hour, 10*time.Minute, 38.2005, 124.0, 0.5, 90) {
		seq.Position(x)
	}
	seq.Static(StaticReport{MMSI: 445000001, Time: t0.Add(time.Hour), IMO: 9417115, Name: "A"})
	seq.Static(StaticReport{MMSI: 445000001, Time: t0.Add(2 * time.Hour), IMO: 9417115, Name: "B", Draught: 5})
	seq.Flush()
	f.Add(AppendItems(nil, items))
	f.Add(AppendItems(nil, items[len(items)/2:]))
	land, _ := geo.LoadLand()
	ports, _ := geo.LoadPorts()
	zones, _ := geo.BuiltinZones()
	f.Fuzz(func(t *testing.T, b []byte) {
		its, err := DecodeItems(b)
		if err != nil {
			return
		}
		w := NewVesselWorker(DefaultConfig, land, ports, zones, Partition{}, func(ev Event) {
			if ev.Kind == "" || len(ev.Vessels) == 0 {
				t.Fatalf("bad event %+v", ev)
			}
		})
		for i := range its {
			w.Apply(&its[i])
		}
		n := NewVesselWorker(DefaultConfig, land, ports, zones, Partition{}, func(Event) {})
		if err := n.Restore(w.Checkpoint()); err != nil {
			t.Fatal(err)
		}
	})
}
