package ais

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func readAllSource(t *testing.T, src Source) []Message {
	t.Helper()
	var out []Message
	var m Message
	for {
		err := src.Next(&m)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

func TestMarineCadastreCSV(t *testing.T) {
	f, err := os.Open("testdata/marinecadastre_2022-01-03_first99999rows.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := detect(f, "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := readAllSource(t, src)
	s := src.Stats()
	pos := s.ByType[1] + s.ByType[18]
	if s.Lines != 99999 || pos+s.Errors[ReasonBadField] != 99999 {
		t.Errorf("lines %d, positions %d, bad %d", s.Lines, pos, s.Errors[ReasonBadField])
	}
	// 367379190 EAGLE, IMO8207721, WTD4583, class A: a type 5 with those.
	found := false
	for _, m := range msgs {
		if m.MMSI == 367379190 && m.Type == 5 {
			found = m.ShipName == "EAGLE" && m.IMO == 8207721 && m.CallSign == "WTD4583" && m.ShipType == 31 && m.Draught == 33
		}
		if m.MMSI == 367379190 && m.Type == 1 && m.Time.Format("15:04:05") == "00:00:00" {
			lat, lon, ok := m.LatLon()
			if !ok || lat < 30.37 || lat > 30.371 || lon > -88.564 || lon < -88.565 {
				t.Errorf("EAGLE position %v %v", lat, lon)
			}
			if v, ok := m.HeadingDegrees(); ok {
				t.Errorf("heading 511 read as %d", v)
			}
		}
	}
	if !found {
		t.Error("EAGLE static data not found")
	}
	if s.First.Format("2006-01-02T15:04:05") != "2022-01-03T00:00:00" || s.Last.Format("15:04:05") != "23:59:59" {
		t.Errorf("span %v %v", s.First, s.Last)
	}
}

func TestDMACSV(t *testing.T) {
	b, err := os.ReadFile("testdata/dma_aisdata_fixture.csv")
	if err != nil {
		t.Fatal(err)
	}
	src, err := detect(bytes.NewReader(b), "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := readAllSource(t, src)
	var types []uint8
	for _, m := range msgs {
		types = append(types, m.Type)
	}
	// Position + static, position (static unchanged), class B position +
	// 24A + 24B, base station skipped, bad MMSI counted, a row of "not
	// available" values (its ship type, Cargo, is static data: a type 5).
	want := []uint8{1, 5, 1, 18, 24, 24, 1, 5}
	if string(types) != string(want) {
		t.Fatalf("types %v, want %v", types, want)
	}
	if msgs[0].Status != 1 || msgs[1].ShipName != "NORDIC HANNE" || msgs[1].ShipType != 80 || msgs[1].IMO != 9138424 {
		t.Errorf("first rows: %+v %+v", msgs[0], msgs[1])
	}
	na := msgs[6]
	if _, _, ok := na.LatLon(); ok {
		t.Error("latitude 91.5 accepted")
	}
	if _, ok := na.SpeedKnots(); ok {
		t.Error("speed 102.3 accepted")
	}
	if _, ok := na.CourseDegrees(); ok {
		t.Error("course 360 accepted")
	}
	if src.Stats().Errors[ReasonBadField] != 1 {
		t.Errorf("errors %v", src.Stats().ErrorsByName())
	}
	if _, err := NewCSVReader(bytes.NewReader([]byte("a,b,c\n1,2,3\n"))); err == nil {
		t.Error("unknown CSV accepted")
	}
}

// The fast MarineCadastre timestamp reader agrees with time.Parse on good
// and bad input alike.
func TestParseMarineCadastreTime(t *testing.T) {
	const layout = "2006-01-02T15:04:05"
	for _, v := range []string{
		"2022-01-03T00:00:00", "2022-01-03T23:59:59", "2020-02-29T12:30:45", "1999-12-31T23:59:59",
		"2021-02-29T00:00:00", "2022-04-31T00:00:00", "2022-13-01T00:00:00", "2022-00-10T00:00:00",
		"2022-01-00T00:00:00", "2022-01-03T24:00:00", "2022-01-03T23:60:00", "2022-01-03T23:59:60",
		"2022-01-03 00:00:00", "2022-1-03T00:00:00", "2022-01-03T00:00:0x", "+022-01-03T00:00:00",
		"2022-01-03T00:00:00Z", "", "2022-01-03", "0000-01-01T00:00:00", "9999-12-31T23:59:59",
	} {
		got, gotErr := parseMarineCadastreTime(v)
		want, wantErr := time.Parse(layout, v)
		if (gotErr == nil) != (wantErr == nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("%q: got %v, %v; time.Parse %v, %v", v, got, gotErr, want, wantErr)
		}
	}
}

// BenchmarkMarineCadastreCSV reads the 100,000-row MarineCadastre slice
// (gzipped CSV, as published) into messages. Reported per row.
func BenchmarkMarineCadastreCSV(b *testing.B) {
	data, err := os.ReadFile("testdata/marinecadastre_2022-01-03_first99999rows.csv.gz")
	if err != nil {
		b.Fatal(err)
	}
	var rows int64
	for b.Loop() {
		src, err := detect(bytes.NewReader(data), "")
		if err != nil {
			b.Fatal(err)
		}
		var m Message
		for src.Next(&m) == nil {
		}
		rows += src.Stats().Lines
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// Unchanged static fields are given again every StaticEvery of row time
// (a transponder's own interval), so an identity in use is seen to last;
// rows in between give none.
func TestCSVStaticRepeated(t *testing.T) {
	var b strings.Builder
	b.WriteString("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n")
	for _, hm := range []string{"00:00:00", "00:02:00", "00:05:59", "00:06:00", "00:07:00", "00:20:00"} {
		fmt.Fprintf(&b, "367379190,2022-01-03T%s,30.37,-88.56,0.1,0,511,EAGLE,IMO8207721,WTD4583,31,0,30,9,3.3,,A\n", hm)
	}
	src, err := NewCSVReader(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	for _, m := range readAllSource(t, src) {
		if m.Type == 5 {
			at = append(at, m.Time.Format("15:04:05"))
		}
	}
	if got := strings.Join(at, " "); got != "00:00:00 00:06:00 00:20:00" {
		t.Errorf("statics at %s", got)
	}
}

// A CSV file read in blocks, each block's reader seeded with what the
// reader of the rows before remembers of the block's vessels (the
// pipeline's way), gives the messages one reader of the whole file
// gives; unseeded, the second block repeats a static report early.
func TestCSVSeededBlocks(t *testing.T) {
	const head = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n"
	var rows []string
	for i, hm := range []string{"00:00:00", "00:02:00", "00:03:00", "00:05:59", "00:06:00", "00:07:00", "00:08:00", "00:20:00"} {
		name := "EAGLE"
		if i >= 6 {
			name = "EAGLE II"
		}
		rows = append(rows, fmt.Sprintf("367379190,2022-01-03T%s,30.37,-88.56,0.1,0,511,%s,IMO8207721,WTD4583,31,0,30,9,3.3,,A\n", hm, name),
			fmt.Sprintf("367000001,2022-01-03T%s,30.1,-88.1,5,90,90,OTHER,,,70,0,100,20,5,,A\n", hm))
	}
	whole, err := NewCSVReader(strings.NewReader(head + strings.Join(rows, "")))
	if err != nil {
		t.Fatal(err)
	}
	want := readAllSource(t, whole)
	for _, seeded := range []bool{true, false} {
		state := map[uint32]StaticSeen{}
		var got []Message
		for _, blk := range [][]string{rows[:3], rows[3:7], rows[7:12], rows[12:]} {
			r, err := NewCSVReader(strings.NewReader(head + strings.Join(blk, "")))
			if err != nil {
				t.Fatal(err)
			}
			if seeded {
				r.SeedStatic(state)
			}
			got = append(got, readAllSource(t, r)...)
			for k, v := range r.Static() {
				state[k] = v
			}
		}
		same := fmt.Sprint(got) == fmt.Sprint(want)
		if seeded && !same {
			t.Errorf("seeded blocks gave %d messages, one reader %d: not the same", len(got), len(want))
		}
		if !seeded && same {
			t.Error("unseeded blocks gave what one reader gives: the test shows nothing")
		}
	}
}
