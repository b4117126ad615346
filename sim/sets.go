package sim

import (
	"fmt"
	"io"
	"math"
	"math/rand"
	"sort"
	"time"

	"github.com/tidewatch/tidewatch/ais"
)

// Sets written for the tests of the split's stages (detect, and the
// pipeline over NATS): encounters of every shape (Meetings) and IMOs
// shared by two MMSIs (IMOSharing). Each is a list of records in time
// order; WriteNMEA writes one as tag-blocked NMEA.

// Record is one report of a set: a position, or (Static) a static report
// with a name and an IMO.
type Record struct {
	MMSI               uint32
	Time               time.Time
	Lat, Lon, SOG, COG float64
	Static             bool
	Name               string
	IMO                uint32
	Source             string
}

// Meetings builds n pairs of ships drifting together at sea for 2.5 to 6
// hours (a third of them on a corner of four area tiles, every fifth
// joined by a third ship, every fourth apart for an hour in the middle,
// some renamed while together), each coming in and leaving at 10 kn, with
// static reports every 20 minutes: encounters of every shape, over tile
// boundaries and moving across cells.
func Meetings(n int, seed int64) []Record {
	r := rand.New(rand.NewSource(seed))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var out []Record
	const nm = 1852.0
	move := func(lat, lon, bearing, metres float64) (float64, float64) {
		b := bearing * math.Pi / 180
		return lat + metres*math.Cos(b)/111320, lon + metres*math.Sin(b)/(111320*math.Cos(lat*math.Pi/180))
	}
	for p := range n {
		lat0, lon0 := 5+r.Float64()*25, -150+r.Float64()*30
		if p%3 == 0 {
			lat0, lon0 = -90+0.4*math.Round((lat0+90)/0.4), -180+0.4*math.Round((lon0+180)/0.4)
		}
		start := time.Duration(r.Float64() * 30 * float64(time.Hour))
		dur := time.Duration((2.5 + r.Float64()*3.5) * float64(time.Hour))
		drift, heading := 0.2+r.Float64()*1.6, r.Float64()*360
		sep, sepBearing := 80+r.Float64()*400, r.Float64()*360
		mids := []uint32{412000000 + uint32(2*p), 352000000 + uint32(2*p+1)}
		if p%7 == 0 {
			mids[0] = 445000000 + uint32(p)
		}
		if p%5 == 0 {
			mids = append(mids, 538000000+uint32(p))
		}
		for s, m := range mids {
			every := time.Duration(60+r.Intn(120)) * time.Second
			off := time.Duration(r.Intn(60)) * time.Second
			renameAt := time.Duration(-1)
			if r.Intn(3) == 0 {
				renameAt = start + dur/2
			}
			for at := start - time.Hour + off; at < start+dur+time.Hour; at += every {
				// The centre drifts; each ship is off it by half the
				// separation (the third ship 300 m aside, in the middle).
				el := (at - start).Hours()
				clat, clon := move(lat0, lon0, heading, drift*nm*math.Max(0, math.Min(el, dur.Hours())))
				var lat, lon float64
				sog := drift
				switch s {
				case 0:
					lat, lon = move(clat, clon, sepBearing, sep/2)
				case 1:
					d := sep / 2
					if p%4 == 0 && el > dur.Hours()/2-0.5 && el < dur.Hours()/2+0.5 {
						d = 3000
					}
					lat, lon = move(clat, clon, sepBearing+180, d)
				default:
					d := 300.0
					if el < dur.Hours()/3 || el > 2*dur.Hours()/3 {
						d = 5000
					}
					lat, lon = move(clat, clon, sepBearing+90, d)
				}
				if el < 0 {
					lat, lon = move(lat, lon, heading+180, -el*10*nm)
					sog = 10
				} else if el > dur.Hours() {
					lat, lon = move(lat, lon, heading+90, (el-dur.Hours())*10*nm)
					sog = 10
				}
				tt := t0.Add(at)
				out = append(out, Record{MMSI: m, Time: tt, Lat: lat, Lon: lon, SOG: sog, COG: heading})
				if (at-off)%(20*time.Minute) < every {
					name := fmt.Sprintf("SHIP %d", m)
					if renameAt >= 0 && at > renameAt {
						name = fmt.Sprintf("RENAMED %d", m)
					}
					out = append(out, Record{Static: true, MMSI: m, Time: tt, Name: name, IMO: uint32(9000000 + p*10 + s)})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// ValidIMO makes the valid IMO number (check digit) of six digits.
func ValidIMO(six int) uint32 {
	sum, d := 0, six
	for w := 2; w <= 7; w++ {
		sum += (d % 10) * w
		d /= 10
	}
	return uint32(six*10 + sum%10)
}

// IMOSharing builds n IMOs each used by two MMSIs: at once (a conflict),
// one after the other (a hand-over), a hand-over the first MMSI comes
// back to (a conflict), or the second starting minutes after the first's
// last static report while it is still heard (a conflict); some MMSIs
// renamed, some using a second IMO later, some DPRK. Ships move at 12 kn
// and report every 3 minutes while on, static reports every 6.
func IMOSharing(n int, seed int64) []Record {
	r := rand.New(rand.NewSource(seed))
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	var out []Record
	type spell struct{ from, to, staticTo time.Duration }
	ship := func(m uint32, imo, imo2 uint32, name string, sp []spell) {
		lat, lon, hd := r.Float64()*40, -60+r.Float64()*40, r.Float64()*360
		for si, s := range sp {
			for at := s.from; at < s.to; at += 3 * time.Minute {
				d := at.Hours() * 12 * 1852
				la := lat + d*math.Cos(hd*math.Pi/180)/111320
				lo := lon + d*math.Sin(hd*math.Pi/180)/(111320*math.Cos(la*math.Pi/180))
				tt := t0.Add(at)
				out = append(out, Record{MMSI: m, Time: tt, Lat: la, Lon: lo, SOG: 12, COG: hd})
				if at < s.staticTo && (at-s.from)%(6*time.Minute) == 0 {
					x, nm := imo, name
					if imo2 != 0 && si == len(sp)-1 && at > (s.from+s.staticTo)/2 {
						x = imo2
					}
					if at > 10*time.Hour && m%3 == 0 {
						nm = "RENAMED " + name
					}
					out = append(out, Record{Static: true, MMSI: m, Time: tt, IMO: x, Name: nm, Source: "test"})
				}
			}
		}
	}
	for k := range n {
		x := ValidIMO(900000 + k)
		var y uint32
		if k%5 == 0 {
			y = ValidIMO(800000 + k)
		}
		m1, m2 := uint32(636000001+2*k), uint32(255000002+2*k)
		if k%7 == 0 {
			m2 = 445000000 + uint32(k)
		}
		s := time.Duration(r.Intn(30*60)) * time.Minute
		h := func(f float64) time.Duration { return s + time.Duration(f*float64(time.Hour)) }
		a, b := fmt.Sprintf("FIRST %d", k), fmt.Sprintf("SECOND %d", k)
		switch k % 4 {
		case 0: // at once
			ship(m1, x, 0, a, []spell{{h(0), h(8), h(8)}})
			ship(m2, x, y, b, []spell{{h(2), h(6), h(6)}})
		case 1: // a hand-over
			ship(m1, x, 0, a, []spell{{h(0), h(5), h(5)}})
			ship(m2, x, y, b, []spell{{h(5 + 1 + r.Float64()*2), h(20), h(20)}})
		case 2: // a hand-over, then the first comes back
			ship(m1, x, 0, a, []spell{{h(0), h(5), h(5)}, {h(9), h(11), h(11)}})
			ship(m2, x, y, b, []spell{{h(6), h(20), h(20)}})
		case 3: // the second begins minutes after the first's last report
			ship(m1, x, 0, a, []spell{{h(0), h(8), h(3)}})
			ship(m2, x, y, b, []spell{{h(3) + 5*time.Minute, h(12), h(12)}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// WriteNMEA writes the records as NMEA with tag blocks (their time to
// the second, source "sets" unless the record has one): positions as
// type 1 reports, static reports as type 5.
func WriteNMEA(w io.Writer, recs []Record) error {
	group := 0
	for _, r := range recs {
		src := r.Source
		if src == "" {
			src = "sets"
		}
		var lines []string
		if r.Static {
			m := ais.Message{MMSI: r.MMSI, IMO: r.IMO, ShipName: r.Name, ShipType: 80, ToBow: 90, ToStern: 20, ToPort: 8, ToStarboard: 8}
			pl, fill := ais.EncodeStatic(&m)
			group++
			lines = ais.Sentences(pl, fill, r.Time.Unix(), src, group, group, 'B')
		} else {
			lat, lon := ais.RawLatLon(r.Lat, r.Lon)
			m := ais.Message{MMSI: r.MMSI, SpeedRaw: uint16(math.Round(r.SOG * 10)), LatRaw: lat, LonRaw: lon,
				Course: uint16(math.Round(r.COG*10)) % 3600, Heading: uint16(math.Round(r.COG)) % 360, Second: uint8(r.Time.Second())}
			pl, fill := ais.EncodePosition(&m)
			lines = ais.Sentences(pl, fill, r.Time.Unix(), src, 0, 0, 'A')
		}
		for _, l := range lines {
			if _, err := io.WriteString(w, l+"\n"); err != nil {
				return err
			}
		}
	}
	return nil
}
