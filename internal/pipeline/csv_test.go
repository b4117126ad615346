package pipeline_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/tidewatch/tidewatch/ais"
	"github.com/tidewatch/tidewatch/detect"
	"github.com/tidewatch/tidewatch/track"
)

var (
	csvOnce sync.Once
	csvFix  fixture
)

// theCSVFixture is theFixture written as a MarineCadastre export (each
// position a row carrying the vessel's static data as last reported, as
// those exports do), and what one process makes of that CSV (a CSV
// reader of the whole file into the detectors).
func theCSVFixture(t testing.TB) *fixture {
	t.Helper()
	nm := theFixture(t)
	csvOnce.Do(func() {
		data, err := marineCadastre(nm.nmea)
		if err != nil {
			panic(err)
		}
		csvFix = fixture{nmea: data, geo: nm.geo}
		var evs []detect.Event
		seen := map[uint32]bool{}
		eng := detect.NewEngine(nm.geo.Detect, nm.geo.Land, nm.geo.Ports, nm.geo.Zones, func(e detect.Event) { evs = append(evs, e) })
		eng.Observe = func(f track.Fix, seg int) {
			if seg >= 0 {
				csvFix.fixes++
			}
			if !seen[f.MMSI] {
				seen[f.MMSI] = true
				csvFix.mmsis = append(csvFix.mmsis, f.MMSI)
			}
		}
		cr, err := ais.NewCSVReader(bytes.NewReader(data))
		if err != nil {
			panic(err)
		}
		if _, _, err := detect.FeedAIS(eng, cr); err != io.EOF {
			panic(err)
		}
		eng.Flush()
		csvFix.want = sortedJSON(evs)
		csvFix.events = len(evs)
	})
	if csvFix.events == 0 {
		t.Fatal("the CSV fixture has no events")
	}
	return &csvFix
}

// marineCadastre writes the positions of an NMEA log as a MarineCadastre
// CSV export.
func marineCadastre(nmea []byte) ([]byte, error) {
	r, err := ais.NewReader(bytes.NewReader(nmea))
	if err != nil {
		return nil, err
	}
	static := map[uint32]ais.Message{}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"MMSI", "BaseDateTime", "LAT", "LON", "SOG", "COG", "Heading", "VesselName", "IMO", "CallSign", "VesselType", "Status", "Length", "Width", "Draft", "Cargo", "TransceiverClass"})
	num := func(v uint64, na bool) string {
		if na {
			return ""
		}
		return strconv.FormatUint(v, 10)
	}
	tenths := func(v uint16, na bool) string { // knots, degrees
		if na {
			return ""
		}
		return strconv.FormatFloat(float64(v)/10, 'f', 1, 64)
	}
	var m ais.Message
	for {
		err := r.Next(&m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		s := static[m.MMSI]
		switch {
		case m.Type == 5:
			s.ShipName, s.CallSign, s.IMO, s.ShipType, s.Draught = m.ShipName, m.CallSign, m.IMO, m.ShipType, m.Draught
			s.ToBow, s.ToStern, s.ToPort, s.ToStarboard = m.ToBow, m.ToStern, m.ToPort, m.ToStarboard
			static[m.MMSI] = s
		case m.Type == 24 && m.PartNo == 0:
			s.ShipName = m.ShipName
			static[m.MMSI] = s
		case m.Type == 24:
			s.CallSign, s.ShipType = m.CallSign, m.ShipType
			s.ToBow, s.ToStern, s.ToPort, s.ToStarboard = m.ToBow, m.ToStern, m.ToPort, m.ToStarboard
			static[m.MMSI] = s
		case (m.Type == 1 || m.Type == 2 || m.Type == 3 || m.Type == 18) && !m.Time.IsZero():
			class, status := "A", num(uint64(m.Status), false)
			if m.Type == 18 {
				class, status = "B", ""
			}
			lat, lon := "", ""
			if m.LatRaw != 91*600000 && m.LonRaw != 181*600000 {
				lat = strconv.FormatFloat(float64(m.LatRaw)/600000, 'f', -1, 64)
				lon = strconv.FormatFloat(float64(m.LonRaw)/600000, 'f', -1, 64)
			}
			imo := ""
			if s.IMO != 0 {
				imo = fmt.Sprintf("IMO%d", s.IMO)
			}
			draft := ""
			if s.Draught != 0 {
				draft = strconv.FormatFloat(float64(s.Draught)/10, 'f', 1, 64)
			}
			w.Write([]string{strconv.FormatUint(uint64(m.MMSI), 10), m.Time.UTC().Format("2006-01-02T15:04:05"), lat, lon,
				tenths(m.SpeedRaw, m.SpeedRaw >= 1023), tenths(m.Course, m.Course >= 3600), num(uint64(m.Heading), m.Heading >= 360),
				s.ShipName, imo, s.CallSign, num(uint64(s.ShipType), s.ShipType == 0), status,
				num(uint64(min(s.ToBow+s.ToStern, 511)), s.ToBow+s.ToStern == 0), num(uint64(min(s.ToPort+s.ToStarboard, 63)), s.ToPort+s.ToStarboard == 0),
				draft, "", class})
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// TestWorkersSameEventsCSV: the fixture as a decoded CSV export, published
// to JetStream in blocks (each with the header line and the file's
// reader's memory of its vessels' static data) and ingested by 1 and 2
// workers, stores the events one process makes of the CSV, byte for byte,
// and nothing twice (cluster.check).
func TestWorkersSameEventsCSV(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			counts := []int{1, 2}
			if s.name == "postgres" {
				counts = []int{2}
			}
			for _, n := range counts {
				t.Run(fmt.Sprint(n), func(t *testing.T) {
					c := newCluster(t, s.open(t), n)
					c.fix, c.csv = theCSVFixture(t), true
					c.publish()
					var ws []*running
					for i := range n {
						ws = append(ws, c.worker(i, c.opts))
					}
					for _, w := range ws {
						w.waitFlushed(t)
					}
					for _, w := range ws {
						w.stop(t)
					}
					c.check()
				})
			}
		})
	}
}
