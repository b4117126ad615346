package sim

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand"
	"time"

	"github.com/tidewatch/tidewatch/ais"
)

// Flood writes the NMEA of a flood of distinct MMSIs, as a spoofer or a
// broken feed could send: n ship MMSIs (MIDs 201-775, distinct), each
// reporting twice, the first reports spread over the first hour from
// start and the second ones an hour after each first, a few miles on,
// at random positions over the world's oceans and coasts; with statics,
// each also sends a static report (a name, a call sign and an IMO, valid
// or not) between its two positions. It bounds what the detectors and
// ingest keep (docs/detection.md, "Memory"). The same arguments give the
// same bytes.
func Flood(w io.Writer, n int, start time.Time, seed int64, statics bool) error {
	if n <= 0 || n > 5_000_000 {
		return fmt.Errorf("sim: flood of %d MMSIs: want 1 to 5,000,000", n)
	}
	rng := rand.New(rand.NewSource(seed))
	type v struct {
		mmsi     uint32
		lat, lon float64
		kn, cog  float64
	}
	ships := make([]v, n)
	// Distinct MMSIs: a stride coprime with the 575 million numbers of
	// MIDs 201-775 walks them without repeating.
	const span = 575_000_000
	stride := uint32(99_991)
	m := uint32(rng.Int63n(span))
	for i := range ships {
		m = (m + stride) % span
		ships[i] = v{mmsi: 201_000_000 + m, lat: rng.Float64()*140 - 70, lon: rng.Float64()*360 - 180, kn: rng.Float64() * 20, cog: rng.Float64() * 360}
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	step := time.Hour / time.Duration(n)
	write := func(s *v, t time.Time) error {
		lat, lon := ais.RawLatLon(s.lat, s.lon)
		msg := ais.Message{MMSI: s.mmsi, SpeedRaw: uint16(math.Round(s.kn * 10)), LatRaw: lat, LonRaw: lon,
			Course: uint16(math.Round(s.cog*10)) % 3600, Heading: uint16(math.Round(s.cog)) % 360, Second: uint8(t.Second())}
		pl, fill := ais.EncodePosition(&msg)
		for _, l := range ais.Sentences(pl, fill, t.Unix(), "flood", 0, 0, 'A') {
			if _, err := bw.WriteString(l + "\n"); err != nil {
				return err
			}
		}
		return nil
	}
	group := 0
	static := func(s *v, i int, t time.Time) error {
		group++
		msg := ais.Message{MMSI: s.mmsi, IMO: 1000000 + uint32(i)%9000000, CallSign: fmt.Sprintf("F%05d", i%100000), ShipName: fmt.Sprintf("FLOOD %d", i),
			ShipType: 70, ToBow: 100, ToStern: 20, ToPort: 10, ToStarboard: 10, Draught: 80, Destination: "NOWHERE"}
		pl, fill := ais.EncodeStatic(&msg)
		for _, l := range ais.Sentences(pl, fill, t.Unix(), "flood", group, group, 'B') {
			if _, err := bw.WriteString(l + "\n"); err != nil {
				return err
			}
		}
		return nil
	}
	for round := 0; round < 2; round++ {
		for i := range ships {
			s := &ships[i]
			if round == 1 && statics {
				if err := static(s, i, start.Add(time.Hour+time.Duration(i)*step-time.Second)); err != nil {
					return err
				}
			}
			if round == 1 {
				d := s.kn / 60 // degrees of latitude sailed in an hour
				s.lat = math.Max(-89, math.Min(89, s.lat+d*math.Cos(s.cog*math.Pi/180)))
				s.lon = math.Mod(s.lon+d*math.Sin(s.cog*math.Pi/180)/math.Max(0.1, math.Cos(s.lat*math.Pi/180))+540, 360) - 180
			}
			if err := write(s, start.Add(time.Duration(round)*time.Hour+time.Duration(i)*step)); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}
