// Package sim generates AIS traffic with known behaviour, for tests,
// benchmarks and the demo: background ships on sea routes between real
// ports' waters with reception loss, plus planted DPRK sanctions-evasion
// behaviour (a ship-to-ship transfer off Nampo, a dark period, an MMSI
// shared by two ships, a draught rise at sea, a DPRK port call, an identity
// change) and look-alikes that must not fire (ships passing close at
// speed, ships anchored together in port, short reception gaps). It writes
// tag-blocked NMEA and the ground truth as JSON lines. Everything derives
// from the seed: the same scenario gives the same bytes.
package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"sort"
	"time"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/geo"
)

// Scenario configures a run.
type Scenario struct {
	Start      time.Time
	Duration   time.Duration
	Background int           // ordinary ships
	Interval   time.Duration // position report interval (ITU: 2-10 s under way; coarser keeps files small)
	LossRate   float64       // share of reports not received
	Seed       int64
	// Planted adds the evasion behaviours and look-alikes.
	Planted bool
	// DPRKTankerIMO, when set, is the IMO the planted DPRK tanker
	// broadcasts (DPRK tankers broadcast their own designated IMOs); a
	// fictional one otherwise.
	DPRKTankerIMO uint32
}

// longScenario is how long a scenario must run for the foreign tanker of
// the planted STS to go on to a dark period and a flag change (the
// due-diligence story of the demo).
const longScenario = 48 * time.Hour

// DefaultScenario is one day, 200 background ships reporting every minute,
// 5% reception loss, with the planted behaviours.
var DefaultScenario = Scenario{Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Duration: 24 * time.Hour, Background: 200, Interval: time.Minute, LossRate: 0.05, Seed: 1, Planted: true}

// Truth is one planted behaviour (or look-alike: Expect false).
type Truth struct {
	Kind   string   `json:"kind"`
	Expect bool     `json:"expect"` // false: a look-alike that must not be reported
	MMSIs  []uint32 `json:"mmsi"`
	// Key narrows the kind when set: the identity field of an
	// identity_change, the reason of a conflict or spoofing, the zone of
	// a zone entry or exit.
	Key     string    `json:"key,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Note    string    `json:"note"`
	Details any       `json:"details,omitempty"`
}

// leg is a straight run at constant speed.
type leg struct {
	from, to   geo.Point
	start, end time.Time
}

// ship is one simulated transmitter.
type ship struct {
	mmsi     uint32
	imo      uint32
	name     string
	callSign string
	shipType uint8
	draught  float64
	dest     string
	legs     []leg
	silent   [][2]time.Time // no transmission
	statics  []staticChange // changes of name, type, draught at times
	interval time.Duration
	// jitter stamps each report up to this late (satellite AIS is
	// stamped on the ground, in batches): reports reach the file out of
	// time order.
	jitter time.Duration
	// displaced moves the reported position during windows (spoofing,
	// or a one-off bad fix).
	displaced []displacement
}

type displacement struct {
	from, to   time.Time
	dLat, dLon float64
}

type staticChange struct {
	at       time.Time
	name     string
	shipType uint8
	draught  float64
}

// position returns where the ship is at t, and its speed and course.
func (s *ship) position(t time.Time) (geo.Point, float64, float64, bool) {
	for _, l := range s.legs {
		if t.Before(l.start) || t.After(l.end) {
			continue
		}
		f := 0.0
		if d := l.end.Sub(l.start); d > 0 {
			f = float64(t.Sub(l.start)) / float64(d)
		}
		p := geo.Point{Lat: l.from.Lat + f*(l.to.Lat-l.from.Lat), Lon: l.from.Lon + f*(l.to.Lon-l.from.Lon)}
		dist := geo.Distance(l.from.Lat, l.from.Lon, l.to.Lat, l.to.Lon)
		kn := 0.0
		if h := l.end.Sub(l.start).Hours(); h > 0 {
			kn = dist / geo.NauticalMile / h
		}
		cog := math.Mod(math.Atan2((l.to.Lon-l.from.Lon)*math.Cos(l.from.Lat*math.Pi/180), l.to.Lat-l.from.Lat)*180/math.Pi+360, 360)
		for _, d := range s.displaced {
			if !t.Before(d.from) && t.Before(d.to) {
				p.Lat, p.Lon = p.Lat+d.dLat, p.Lon+d.dLon
			}
		}
		return p, kn, cog, true
	}
	return geo.Point{}, 0, 0, false
}

func (s *ship) silentAt(t time.Time) bool {
	for _, w := range s.silent {
		if !t.Before(w[0]) && t.Before(w[1]) {
			return true
		}
	}
	return false
}

// Run writes the scenario's NMEA to nmea and its truth to truth (may be nil).
func Run(sc Scenario, nmea, truth io.Writer) error {
	if sc.Interval <= 0 || sc.Duration <= 0 {
		return fmt.Errorf("sim: interval and duration must be positive")
	}
	land, err := geo.LoadLand()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(sc.Seed))
	var ships []*ship
	for i := 0; i < sc.Background; i++ {
		ships = append(ships, background(rng, land, sc, i))
	}
	var truths []Truth
	if sc.Planted {
		p, t := planted(sc)
		ships = append(ships, p...)
		truths = append(truths, t...)
	}
	// Emit every report in time order: one timeline of (time, ship) events.
	type tick struct {
		t    time.Time
		ship int
		kind int // 0 position, 1 static
	}
	var ticks []tick
	for i, s := range ships {
		iv := s.interval
		if iv == 0 {
			iv = sc.Interval
		}
		// Offset each ship's clock so reports are not all on the minute.
		off := time.Duration(rng.Int63n(int64(iv)))
		for t := sc.Start.Add(off); t.Before(sc.Start.Add(sc.Duration)); t = t.Add(iv) {
			ticks = append(ticks, tick{t, i, 0})
		}
		for t := sc.Start.Add(off + time.Second); t.Before(sc.Start.Add(sc.Duration)); t = t.Add(6 * time.Minute) {
			ticks = append(ticks, tick{t, i, 1})
		}
	}
	sort.SliceStable(ticks, func(a, b int) bool {
		if !ticks[a].t.Equal(ticks[b].t) {
			return ticks[a].t.Before(ticks[b].t)
		}
		return ticks[a].ship < ticks[b].ship
	})
	group := 0
	for _, tk := range ticks {
		s := ships[tk.ship]
		if s.silentAt(tk.t) || rng.Float64() < sc.LossRate {
			continue
		}
		p, kn, cog, ok := s.position(tk.t)
		if !ok {
			continue
		}
		stamp := tk.t
		if s.jitter > 0 {
			stamp = stamp.Add(time.Duration(rng.Int63n(int64(s.jitter))))
		}
		var lines []string
		if tk.kind == 0 {
			lat, lon := ais.RawLatLon(p.Lat, p.Lon)
			status := uint8(0)
			if kn < 0.5 {
				status = 1
			}
			m := ais.Message{MMSI: s.mmsi, Status: status, SpeedRaw: uint16(math.Round(kn * 10)), LatRaw: lat, LonRaw: lon,
				Course: uint16(math.Round(cog*10)) % 3600, Heading: uint16(math.Round(cog)) % 360, Second: uint8(tk.t.Second())}
			pl, fill := ais.EncodePosition(&m)
			lines = ais.Sentences(pl, fill, stamp.Unix(), "sim", 0, 0, 'A')
		} else {
			name, typ, draught := s.name, s.shipType, s.draught
			for _, c := range s.statics {
				if !tk.t.Before(c.at) {
					if c.name != "" {
						name = c.name
					}
					if c.shipType != 0 {
						typ = c.shipType
					}
					if c.draught != 0 {
						draught = c.draught
					}
				}
			}
			m := ais.Message{MMSI: s.mmsi, IMO: s.imo, CallSign: s.callSign, ShipName: name, ShipType: typ,
				ToBow: 90, ToStern: 20, ToPort: 8, ToStarboard: 8, Draught: uint8(math.Round(draught * 10)), Destination: s.dest,
				ETAMonth: uint8(sc.Start.Month()), ETADay: uint8(sc.Start.Day()), ETAHour: 12}
			pl, fill := ais.EncodeStatic(&m)
			group++
			lines = ais.Sentences(pl, fill, stamp.Unix(), "sim", group, group, 'B')
		}
		for _, l := range lines {
			if _, err := io.WriteString(nmea, l+"\n"); err != nil {
				return err
			}
		}
	}
	if truth != nil {
		enc := json.NewEncoder(truth)
		for _, t := range truths {
			if err := enc.Encode(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// seaAreas are boxes of open water the background traffic crosses: the
// Yellow Sea, the East China Sea and the Sea of Japan.
var seaAreas = [][4]float64{{33.5, 121.5, 37.5, 124.5}, {28.0, 123.0, 32.5, 127.0}, {37.0, 130.0, 41.0, 136.0}}

func background(rng *rand.Rand, land *geo.Land, sc Scenario, i int) *ship {
	area := seaAreas[i%len(seaAreas)]
	at := func() geo.Point {
		for {
			p := geo.Point{Lat: area[0] + rng.Float64()*(area[2]-area[0]), Lon: area[1] + rng.Float64()*(area[3]-area[1])}
			if !land.OnLand(p.Lat, p.Lon) {
				return p
			}
		}
	}
	s := &ship{mmsi: uint32(412000000 + i*7), imo: imoWithCheck(9100000 + i*10), name: fmt.Sprintf("SIM TRADER %d", i), callSign: fmt.Sprintf("BS%04d", i),
		shipType: uint8(70 + i%10), draught: 7 + float64(i%5), dest: "SHANGHAI"}
	t := sc.Start
	from := at()
	for t.Before(sc.Start.Add(sc.Duration)) {
		to := at()
		kn := 8 + rng.Float64()*8
		h := geo.Distance(from.Lat, from.Lon, to.Lat, to.Lon) / geo.NauticalMile / kn
		end := t.Add(time.Duration(h * float64(time.Hour)))
		s.legs = append(s.legs, leg{from, to, t, end})
		t, from = end, to
	}
	// Some ships lose reception for a while: short gaps that must not fire.
	if i%10 == 3 {
		st := sc.Start.Add(time.Duration(rng.Int63n(int64(sc.Duration / 2))))
		s.silent = append(s.silent, [2]time.Time{st, st.Add(time.Duration(30+rng.Intn(150)) * time.Minute)})
	}
	return s
}

// imoWithCheck completes six digits with the IMO ship check digit.
func imoWithCheck(base int) uint32 {
	b := base / 10
	sum, r := 0, b
	for w := 2; w <= 7; w++ {
		sum += (r % 10) * w
		r /= 10
	}
	return uint32(b*10 + sum%10)
}

func stay(p geo.Point, a, b time.Time) leg { return leg{p, p, a, b} }

// drift moves slowly from p by dNM nautical miles north-east over [a, b].
func drift(p geo.Point, dNM float64, a, b time.Time) leg {
	q := geo.Point{Lat: p.Lat + dNM/60*0.7, Lon: p.Lon + dNM/60*0.7/math.Cos(p.Lat*math.Pi/180)}
	return leg{p, q, a, b}
}

// sail runs from p to q at kn knots starting at a.
func sail(p, q geo.Point, kn float64, a time.Time) leg {
	h := geo.Distance(p.Lat, p.Lon, q.Lat, q.Lon) / geo.NauticalMile / kn
	return leg{p, q, a, a.Add(time.Duration(h * float64(time.Hour)))}
}

// planted builds the evasion behaviours and the look-alikes.
func planted(sc Scenario) ([]*ship, []Truth) {
	t := func(h float64) time.Time { return sc.Start.Add(time.Duration(h * float64(time.Hour))) }
	end := sc.Start.Add(sc.Duration)
	var ships []*ship
	var truths []Truth

	// 1. STS off Nampo, Korea Bay (38.2N 124.0E, 30 nm offshore): a DPRK
	//    tanker and a Sierra Leone-flagged tanker drift together 5 hours.
	//    The DPRK tanker then calls at Nampo.
	sts := geo.Point{Lat: 38.2, Lon: 124.0}
	nampo := geo.Point{Lat: 38.71, Lon: 125.37}
	farOut := geo.Point{Lat: 37.3, Lon: 123.2}
	dprk := &ship{mmsi: 445000101, imo: imoWithCheck(8900100), name: "SIM PAEK SONG", callSign: "HMZA", shipType: 80, draught: 5.0, dest: "NAMPO"}
	foreign := &ship{mmsi: 667000202, imo: imoWithCheck(9300200), name: "SIM OCEAN STAR", callSign: "9LAA1", shipType: 80, draught: 11.0, dest: "NINGBO"}
	near := geo.Point{Lat: sts.Lat + 0.0008, Lon: sts.Lon} // 90 m apart
	in := sail(farOut, near, 10, t(0.5))
	arrive := in.end
	foreign.legs = []leg{stay(farOut, sc.Start, t(0.5)), in, drift(near, 1.0, arrive, arrive.Add(5*time.Hour))}
	out := sail(foreign.legs[2].to, farOut, 10, arrive.Add(5*time.Hour))
	foreign.legs = append(foreign.legs, out, stay(farOut, out.end, end))
	// The DPRK tanker leaves its waiting point so as to meet it.
	wait := geo.Point{Lat: 38.0, Lon: 124.2}
	approach := sail(wait, sts, 8, sc.Start)
	d := approach.end.Sub(approach.start)
	approach = leg{wait, sts, arrive.Add(-d), arrive}
	dprk.legs = []leg{stay(wait, sc.Start, arrive.Add(-d)), approach, drift(sts, 1.0, arrive, arrive.Add(5*time.Hour))}
	toPort := sail(dprk.legs[2].to, nampo, 9, arrive.Add(5*time.Hour))
	inPort := toPort.end
	dprk.legs = append(dprk.legs, toPort, stay(nampo, inPort, end))
	// The foreign tanker's draught falls as it discharges, with no port call.
	foreign.statics = []staticChange{{at: arrive.Add(5*time.Hour + 30*time.Minute), draught: 6.0}}
	// The DPRK tanker calls itself a fishing vessel during the transfer.
	dprk.statics = []staticChange{{at: arrive.Add(time.Hour), name: "SIM YU SAN", shipType: 30}}
	if sc.DPRKTankerIMO != 0 {
		dprk.imo = sc.DPRKTankerIMO
	}
	ships = append(ships, dprk, foreign)
	if sc.Duration >= longScenario {
		// After the transfer the foreign tanker heads south through the
		// Yellow Sea, goes dark for 14 hours mid-sea, and soon after
		// reappearing re-flags: the same IMO under a Tuvalu MMSI and a new
		// name.
		p1 := geo.Point{Lat: 35.5, Lon: 123.8}
		p2 := geo.Point{Lat: 33.8, Lon: 124.6}
		p3 := geo.Point{Lat: 31.0, Lon: 123.6}
		last := foreign.legs[len(foreign.legs)-1]
		toP1 := sail(farOut, p1, 10, last.start)
		darkFrom := toP1.end.Add(10 * time.Minute)
		darkTo := darkFrom.Add(14 * time.Hour)
		legs := append(foreign.legs[:len(foreign.legs)-1:len(foreign.legs)-1], toP1,
			stay(p1, toP1.end, darkFrom), leg{p1, p2, darkFrom, darkTo})
		south := sail(p2, p3, 10, darkTo)
		legs = append(legs, south, stay(p3, south.end, end))
		foreign.legs = legs
		reflag := darkTo.Add(4 * time.Hour)
		foreign.silent = [][2]time.Time{{darkFrom, darkTo}, {reflag, end}}
		renamed := &ship{mmsi: 572000222, imo: foreign.imo, name: "SIM OCEAN PEARL", callSign: "T2AB3", shipType: 80, draught: 6.0, dest: "ZHOUSHAN", legs: legs,
			silent: [][2]time.Time{{sc.Start, reflag.Add(30 * time.Minute)}}}
		ships = append(ships, renamed)
		truths = append(truths,
			Truth{Kind: "gap", Expect: true, MMSIs: []uint32{foreign.mmsi}, Start: darkFrom, End: darkTo, Note: "the STS tanker goes dark for 14 hours mid-sea"},
			Truth{Kind: "identity_change", Key: "mmsi", Expect: true, MMSIs: []uint32{foreign.mmsi, renamed.mmsi}, Start: reflag.Add(-time.Hour), End: reflag.Add(time.Hour), Note: "the STS tanker re-flags: its IMO moves from a Sierra Leone to a Tuvalu MMSI"},
			Truth{Kind: "identity_conflict", Key: "one_imo_two_mmsi", Expect: false, MMSIs: []uint32{foreign.mmsi, renamed.mmsi}, Start: sc.Start, End: end, Note: "look-alike: a re-flag hands the IMO over, the two MMSIs never speak at once"})
	}
	truths = append(truths,
		Truth{Kind: "encounter", Expect: true, MMSIs: []uint32{dprk.mmsi, foreign.mmsi}, Start: arrive, End: arrive.Add(5 * time.Hour), Note: "STS transfer between a DPRK tanker and a foreign tanker in the Korea Bay"},
		Truth{Kind: "port_call", Expect: true, MMSIs: []uint32{dprk.mmsi}, Start: inPort, End: end, Note: "DPRK tanker calls at Nampo"},
		Truth{Kind: "draught_change", Expect: true, MMSIs: []uint32{foreign.mmsi}, Start: arrive, End: arrive.Add(6 * time.Hour), Note: "draught falls 11.0 -> 6.0 m at sea"},
		Truth{Kind: "identity_change", Key: "name", Expect: true, MMSIs: []uint32{dprk.mmsi}, Start: arrive, End: arrive.Add(2 * time.Hour), Note: "renames itself during the STS"},
		Truth{Kind: "identity_change", Key: "ship_type", Expect: true, MMSIs: []uint32{dprk.mmsi}, Start: arrive, End: arrive.Add(2 * time.Hour), Note: "declares itself a fishing vessel during the STS"},
		Truth{Kind: "zone_entry", Key: "sts-korea-bay-nampo-chodo", Expect: true, MMSIs: []uint32{dprk.mmsi}, Start: sc.Start, End: arrive, Note: "enters the Korea Bay STS area"},
	)

	// 2. Dark period: a tanker 60+ nm off the Chinese coast goes silent for
	//    14 hours and reappears 60 nm further on.
	a := geo.Point{Lat: 31.0, Lon: 124.8}
	b := geo.Point{Lat: 31.6, Lon: 125.4}
	dark := &ship{mmsi: 352000303, imo: imoWithCheck(9400300), name: "SIM NIGHT OWL", callSign: "3EAB1", shipType: 80, draught: 9, dest: "NAMPO"}
	dark.legs = []leg{stay(a, sc.Start, t(4)), sail(a, b, 4.3, t(4))}
	dark.legs = append(dark.legs, stay(b, dark.legs[1].end, end))
	dark.silent = [][2]time.Time{{t(4), t(18)}}
	ships = append(ships, dark)
	truths = append(truths, Truth{Kind: "gap", Expect: true, MMSIs: []uint32{dark.mmsi}, Start: t(4), End: t(18), Note: "14-hour dark period far offshore"})

	// 3. One MMSI, two ships, 400 km apart at the same time.
	twin1 := &ship{mmsi: 511000404, imo: imoWithCheck(9500400), name: "SIM TWIN", callSign: "T8AA1", shipType: 70, draught: 8, dest: "DALIAN"}
	twin1.legs = []leg{sail(geo.Point{Lat: 35.0, Lon: 122.5}, geo.Point{Lat: 36.5, Lon: 123.5}, 11, sc.Start)}
	twin1.legs = append(twin1.legs, stay(twin1.legs[0].to, twin1.legs[0].end, end))
	twin2 := &ship{mmsi: 511000404, imo: imoWithCheck(9500400), name: "SIM TWIN", callSign: "T8AA1", shipType: 70, draught: 8, dest: "DALIAN", interval: 3 * time.Minute}
	twin2.legs = []leg{sail(geo.Point{Lat: 30.0, Lon: 125.0}, geo.Point{Lat: 31.0, Lon: 126.0}, 11, t(6))}
	twin2.legs = append(twin2.legs, stay(twin2.legs[0].to, twin2.legs[0].end, end))
	ships = append(ships, twin1, twin2)
	truths = append(truths, Truth{Kind: "identity_conflict", Key: "one_mmsi_two_positions", Expect: true, MMSIs: []uint32{511000404}, Start: t(6), End: end, Note: "one MMSI broadcast by two ships 600 km apart"})

	// Look-alikes. 4. Two ships pass within 300 m at 12 knots.
	pa := &ship{mmsi: 477000505, imo: imoWithCheck(9600500), name: "SIM PASSER A", callSign: "VRAA1", shipType: 70, draught: 8, dest: "BUSAN"}
	pb := &ship{mmsi: 477000606, imo: imoWithCheck(9600600), name: "SIM PASSER B", callSign: "VRAA2", shipType: 70, draught: 8, dest: "QINGDAO"}
	pa.legs = []leg{stay(geo.Point{Lat: 34.5, Lon: 122.0}, sc.Start, t(8)), sail(geo.Point{Lat: 34.5, Lon: 122.0}, geo.Point{Lat: 34.5, Lon: 124.0}, 12, t(8))}
	pa.legs = append(pa.legs, stay(pa.legs[1].to, pa.legs[1].end, end))
	mid := pa.legs[1].start.Add(pa.legs[1].end.Sub(pa.legs[1].start) / 2)
	pb.legs = []leg{stay(geo.Point{Lat: 34.5027, Lon: 124.0}, sc.Start, mid.Add(-pa.legs[1].end.Sub(pa.legs[1].start)/2)),
		sail(geo.Point{Lat: 34.5027, Lon: 124.0}, geo.Point{Lat: 34.5027, Lon: 122.0}, 12, mid.Add(-pa.legs[1].end.Sub(pa.legs[1].start)/2))}
	pb.legs = append(pb.legs, stay(pb.legs[1].to, pb.legs[1].end, end))
	ships = append(ships, pa, pb)
	truths = append(truths, Truth{Kind: "encounter", Expect: false, MMSIs: []uint32{pa.mmsi, pb.mmsi}, Start: sc.Start, End: end, Note: "ships passing 300 m apart at 12 knots"})

	// 5. Two ships anchored together at Nampo for the whole day.
	ac := &ship{mmsi: 445000707, imo: imoWithCheck(8900700), name: "SIM ANCHOR C", callSign: "HMZB", shipType: 70, draught: 6, dest: "NAMPO"}
	ad := &ship{mmsi: 445000808, imo: imoWithCheck(8900800), name: "SIM ANCHOR D", callSign: "HMZC", shipType: 70, draught: 6, dest: "NAMPO"}
	ac.legs = []leg{stay(geo.Point{Lat: 38.712, Lon: 125.372}, sc.Start, end)}
	ad.legs = []leg{stay(geo.Point{Lat: 38.7125, Lon: 125.3724}, sc.Start, end)}
	ships = append(ships, ac, ad)
	truths = append(truths, Truth{Kind: "encounter", Expect: false, MMSIs: []uint32{ac.mmsi, ad.mmsi}, Start: sc.Start, End: end, Note: "ships anchored together in port"},
		Truth{Kind: "port_call", Expect: true, MMSIs: []uint32{ac.mmsi}, Start: sc.Start, End: end, Note: "anchored at Nampo: a port call, not an encounter"},
		Truth{Kind: "port_call", Expect: true, MMSIs: []uint32{ad.mmsi}, Start: sc.Start, End: end, Note: "anchored at Nampo: a port call, not an encounter"})

	// 6. A short reception gap (3 hours) offshore.
	sg := &ship{mmsi: 636000909, imo: imoWithCheck(9700900), name: "SIM SHORT GAP", callSign: "A8AA1", shipType: 70, draught: 8, dest: "BUSAN"}
	sg.legs = []leg{sail(geo.Point{Lat: 33.0, Lon: 124.0}, geo.Point{Lat: 36.0, Lon: 124.0}, 8, sc.Start)}
	sg.legs = append(sg.legs, stay(sg.legs[0].to, sg.legs[0].end, end))
	sg.silent = [][2]time.Time{{t(10), t(13)}}
	ships = append(ships, sg)
	truths = append(truths, Truth{Kind: "gap", Expect: false, MMSIs: []uint32{sg.mmsi}, Start: t(10), End: t(13), Note: "3-hour reception gap"})

	p, tr := plantedIssue12(sc, t, end)
	return append(ships, p...), append(truths, tr...)
}

// plantedIssue12 adds the cases the detection-quality issue found
// mishandled, with their look-alikes: one IMO on two MMSIs at once, a
// ship following an STS area's boundary and one crossing it, a position
// that jumps far away and comes back and a one-off bad position, and a
// satellite-stamped ship (receive times out of order) going dark.
func plantedIssue12(sc Scenario, t func(float64) time.Time, end time.Time) ([]*ship, []Truth) {
	var ships []*ship
	var truths []Truth
	hold := func(s *ship) { // stay where the last leg ends until the end
		l := s.legs[len(s.legs)-1]
		s.legs = append(s.legs, stay(l.to, l.end, end))
	}

	// 7. One IMO broadcast at once by two MMSIs in different seas, all
	//    the time: one conflict for the whole period.
	imo := imoWithCheck(9800100)
	k1 := &ship{mmsi: 352001111, imo: imo, name: "SIM KOTI", callSign: "3EKT1", shipType: 80, draught: 9, dest: "NINGBO"}
	k1.legs = []leg{sail(geo.Point{Lat: 35.2, Lon: 122.6}, geo.Point{Lat: 37.0, Lon: 123.2}, 6, sc.Start)}
	hold(k1)
	k2 := &ship{mmsi: 667001111, imo: imo, name: "SIM KOTI", callSign: "9LKT2", shipType: 80, draught: 9, dest: "VLADIVOSTOK"}
	k2.legs = []leg{sail(geo.Point{Lat: 38.0, Lon: 131.0}, geo.Point{Lat: 40.0, Lon: 132.5}, 6, sc.Start)}
	hold(k2)
	ships = append(ships, k1, k2)
	truths = append(truths, Truth{Kind: "identity_conflict", Key: "one_imo_two_mmsi", Expect: true, MMSIs: []uint32{k1.mmsi, k2.mmsi}, Start: sc.Start, End: end,
		Note: "one IMO broadcast at once by two MMSIs 900 km apart"},
		Truth{Kind: "identity_change", Key: "mmsi", Expect: false, MMSIs: []uint32{k1.mmsi, k2.mmsi}, Start: sc.Start, End: end,
			Note: "look-alike: two MMSIs using one IMO at once are no hand-over"})

	// 8. A ship following the northern edge of the East China Sea STS
	//    area, 330 m either side, switching every 8 minutes: no entry.
	//    Another crosses the area: one entry and one exit.
	f := &ship{mmsi: 413000808, imo: imoWithCheck(9810800), name: "SIM EDGE", callSign: "BSED1", shipType: 70, draught: 8, dest: "BUSAN"}
	lon, at, side := 123.5, t(2), -1.0 // begins outside (north of 32.5 N)
	for lon < 126.0 {
		next := geo.Point{Lat: 32.5 + side*0.003, Lon: lon + 0.025}
		l := leg{geo.Point{Lat: 32.5 - side*0.003, Lon: lon}, next, at, at.Add(8 * time.Minute)}
		f.legs = append(f.legs, l)
		lon, at, side = next.Lon, l.end, -side
	}
	f.legs = append([]leg{stay(f.legs[0].from, sc.Start, t(2))}, f.legs...)
	last := f.legs[len(f.legs)-1]
	f.legs = append(f.legs, sail(last.to, geo.Point{Lat: 33.2, Lon: last.to.Lon}, 10, last.end)) // then away north
	hold(f)
	c := &ship{mmsi: 413000909, imo: imoWithCheck(9810900), name: "SIM CROSSER", callSign: "BSCR1", shipType: 70, draught: 8, dest: "QINGDAO"}
	across := sail(geo.Point{Lat: 28.2, Lon: 124.0}, geo.Point{Lat: 32.8, Lon: 124.5}, 15, t(2))
	c.legs = []leg{stay(across.from, sc.Start, t(2)), across}
	hold(c)
	frac := func(lat float64) time.Time { // when the crossing passes lat
		return across.start.Add(time.Duration(float64(across.end.Sub(across.start)) * (lat - across.from.Lat) / (across.to.Lat - across.from.Lat)))
	}
	inAt, outAt := frac(28.5), frac(32.5)
	ships = append(ships, f, c)
	truths = append(truths,
		Truth{Kind: "zone_entry", Key: "sts-east-china-sea", Expect: false, MMSIs: []uint32{f.mmsi}, Start: sc.Start, End: end, Note: "look-alike: a ship following the STS area's edge, 330 m either side"},
		Truth{Kind: "zone_exit", Key: "sts-east-china-sea", Expect: false, MMSIs: []uint32{f.mmsi}, Start: sc.Start, End: end, Note: "look-alike: a ship following the STS area's edge, 330 m either side"},
		Truth{Kind: "zone_entry", Key: "sts-east-china-sea", Expect: true, MMSIs: []uint32{c.mmsi}, Start: inAt.Add(-time.Hour), End: inAt.Add(time.Hour), Note: "a ship crosses the East China Sea STS area: in"},
		Truth{Kind: "zone_exit", Key: "sts-east-china-sea", Expect: true, MMSIs: []uint32{c.mmsi}, Start: outAt.Add(-time.Hour), End: outAt.Add(time.Hour), Note: "a ship crosses the East China Sea STS area: out"})

	// 9. A position that jumps 340 km south, stays there 5 hours and
	//    comes back (the real track silent meanwhile); and a ship with
	//    one bad position 330 km off its track.
	j := &ship{mmsi: 636001010, imo: imoWithCheck(9811000), name: "SIM JUMPER", callSign: "A8JP1", shipType: 80, draught: 10, dest: "DALIAN",
		displaced: []displacement{{t(10), t(15), -3.0, 0.5}}}
	j.legs = []leg{sail(geo.Point{Lat: 35.6, Lon: 122.3}, geo.Point{Lat: 36.6, Lon: 123.3}, 5, sc.Start)}
	hold(j)
	o := &ship{mmsi: 636001111, imo: imoWithCheck(9811100), name: "SIM GLITCH", callSign: "A8GL1", shipType: 70, draught: 8, dest: "NIIGATA",
		displaced: []displacement{{t(9), t(9).Add(sc.Interval), -3.0, 0}}}
	o.legs = []leg{sail(geo.Point{Lat: 39.0, Lon: 132.0}, geo.Point{Lat: 40.0, Lon: 134.0}, 8, sc.Start)}
	hold(o)
	ships = append(ships, j, o)
	truths = append(truths,
		Truth{Kind: "position_spoofing", Key: "far_jump", Expect: true, MMSIs: []uint32{j.mmsi}, Start: t(10), End: t(15), Note: "the position jumps 340 km away for 5 hours and comes back"},
		Truth{Kind: "position_spoofing", Expect: false, MMSIs: []uint32{o.mmsi}, Start: sc.Start, End: end, Note: "look-alike: one bad position 330 km off the track"})

	// 10. A satellite-received ship, reports stamped up to 6 minutes out
	//     of order, goes dark for 13 hours far out in the Sea of Japan:
	//     one gap (jitter split it into tracks, and each had its gap).
	g := &ship{mmsi: 235001212, imo: imoWithCheck(9811200), name: "SIM SATELLITE", callSign: "MSAT1", shipType: 60, draught: 8, dest: "VLADIVOSTOK",
		interval: 20 * time.Second, jitter: 6 * time.Minute}
	g.legs = []leg{sail(geo.Point{Lat: 37.2, Lon: 130.8}, geo.Point{Lat: 44.0, Lon: 137.5}, 17, sc.Start)}
	hold(g)
	g.silent = [][2]time.Time{{t(3), t(16)}}
	ships = append(ships, g)
	truths = append(truths, Truth{Kind: "gap", Expect: true, MMSIs: []uint32{g.mmsi}, Start: t(3), End: t(16), Note: "13-hour dark period of a ship with satellite-stamped (jittered) reports"})
	return ships, truths
}
