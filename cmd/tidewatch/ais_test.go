package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/internal/termtext"
)

func TestAISStatsRealFile(t *testing.T) {
	code, out, errs := tw(t, "ais", "stats", "../../ais/testdata/dma_aisabnormal_2013-11-12_ais-sample.nmea.gz")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// Counts recorded when the file was collected (shared/data/ais/STATS.jsonl):
	// 26,077 messages, 1,508 MMSIs, 1,438 with a valid position, 12:00:00-12:04:59.
	for _, want := range []string{"messages        26077", "distinct MMSIs  1508 (1438 with a valid position)", "2013-11-12T12:00:00Z .. 2013-11-12T12:04:59Z", "1:20044 3:4151 4:1234 5:69 18:493 21:25 24:61"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lack %q:\n%s", want, out)
		}
	}
	code, out, _ = tw(t, "ais", "stats", "--json", "../../ais/testdata/marinecadastre_2022-01-03_first99999rows.csv.gz")
	var st inputStats
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Lines != 99999 || st.SpanHours != 24 {
		t.Errorf("CSV stats: %d %s", code, out)
	}
}

func TestAISDecode(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.nmea")
	os.WriteFile(in, []byte(`\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`+"`0`"+`cF5BF0RT13H0T,0*70
\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29
!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72,b003669970,1272412824
!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*73
garbage line
`), 0o644)
	code, out, errs := tw(t, "ais", "decode", "--json", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	var objs []map[string]any
	for sc.Scan() {
		var o map[string]any
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("bad JSON %q", sc.Text())
		}
		objs = append(objs, o)
	}
	if len(objs) != 2 || objs[0]["shipname"] != "VALE CHINA" || objs[0]["time"] != "2012-04-13T17:15:17Z" || objs[1]["mmsi"] != float64(366888040) || objs[1]["time"] != "2010-04-28T00:00:24Z" {
		t.Errorf("decoded %v", objs)
	}
	if !strings.Contains(errs, "2 messages from 5 lines; 2 unusable: checksum 1, malformed 1") {
		t.Errorf("summary %q", errs)
	}
	code, out, _ = tw(t, "ais", "decode", "--types", "5", in)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"VALE CHINA" IMO9522972`) {
		t.Errorf("text decode: %s", out)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ais"}, 2, `give a command after "ais"`},
		{[]string{"ais", "decode"}, 2, "give one or more inputs"},
		{[]string{"ais", "decode", "--types", "99", in}, 2, "--types"},
		{[]string{"ais", "stats", filepath.Join(dir, "missing")}, 1, "no such file"},
		{[]string{"ais", "frob"}, 2, "unknown ais command"},
	} {
		code, out, errs := tw(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: %d %q %q", c.args, code, out, errs)
		}
	}
}

// 'ais decode' on a file that is not AIS (a JPEG, prose, random bytes, an
// empty file) fails with a message saying no AIS was found and what the
// lines were; a file with some AIS among garbage still succeeds.
func TestAISDecodeNotAIS(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 20000)
	rand.New(rand.NewSource(1)).Read(random)
	files := map[string][]byte{
		"photo.jpg":  jpg.Bytes(),
		"notes.txt":  []byte("Minutes of the meeting\n\nThe vessel CHON MA SAN was discussed.\n$GPGGA,1,2,3*00\n"),
		"random.bin": random,
		"empty.nmea": nil,
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		for _, cmd := range []string{"decode", "stats"} {
			code, out, errs := tw(t, "ais", cmd, p)
			if code != 1 || !strings.Contains(errs, p+": no AIS message found") || !strings.Contains(errs, "1 of 1 inputs failed: 1 held no AIS message") {
				t.Errorf("ais %s %s: exit %d\n%s%s", cmd, name, code, out, errs)
			}
			if name == "empty.nmea" && !strings.Contains(errs, "the input is empty") {
				t.Errorf("ais %s %s: %s", cmd, name, errs)
			}
			if name == "notes.txt" && !strings.Contains(errs, "no AIS message found in 4 lines (3 unusable: malformed 2, not_ais 1)") {
				t.Errorf("ais %s %s: %s", cmd, name, errs)
			}
		}
	}
	// The JSON of 'ais stats' says so too.
	code, out, _ := tw(t, "ais", "stats", "--json", filepath.Join(dir, "photo.jpg"))
	var st inputStats
	if code != 1 || json.Unmarshal([]byte(out), &st) != nil || !strings.Contains(st.NoAIS, "no AIS message found") || st.Messages != 0 {
		t.Errorf("stats --json: %d %s", code, out)
	}
	// Some AIS among the garbage: exit 0, the rest counted.
	mixed := filepath.Join(dir, "mixed.nmea")
	os.WriteFile(mixed, append(append([]byte("!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72\n"), random[:3000]...), jpg.Bytes()...), 0o644)
	code, _, errs := tw(t, "ais", "decode", mixed)
	if code != 0 || !strings.Contains(errs, "1 messages from") || !strings.Contains(errs, "unusable") {
		t.Errorf("mixed: %d %s", code, errs)
	}
	// One good input and one bad: the bad one fails the command, and the
	// good one is still decoded.
	code, out, errs = tw(t, "ais", "decode", mixed, filepath.Join(dir, "photo.jpg"))
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(errs, "1 of 2 inputs failed: 1 held no AIS message") {
		t.Errorf("mixed and photo: %d %q %s", code, out, errs)
	}
}

// A real .gz file cut in half: both commands report it as truncated and
// exit 1, after the messages before the cut.
func TestAISTruncatedGzip(t *testing.T) {
	var data []byte
	for _, p := range []string{"../../../shared/data/ais/dma_aisabnormal_2013-11-12_ais-sample.nmea.gz", "../../ais/testdata/dma_aisabnormal_2013-11-12_ais-sample.nmea.gz"} {
		if b, err := os.ReadFile(p); err == nil {
			data = b
			break
		}
	}
	if data == nil {
		t.Skip("no real gzip file")
	}
	half := filepath.Join(t.TempDir(), "half.nmea.gz")
	os.WriteFile(half, data[:len(data)/2], 0o644)
	code, out, errs := tw(t, "ais", "decode", half)
	if code != 1 || strings.Count(out, "\n") < 10000 || !strings.Contains(errs, half+": truncated: the gzip stream ends before its end marker") ||
		!strings.Contains(errs, "1 of 1 inputs failed: 1 could not be read to the end") {
		t.Errorf("decode: exit %d, %d lines, %s", code, strings.Count(out, "\n"), errs)
	}
	code, out, errs = tw(t, "ais", "stats", half)
	if code != 1 || !regexp.MustCompile(`READ ERROR +`+regexp.QuoteMeta(half)+`: truncated`).MatchString(out) || !strings.Contains(errs, "truncated") {
		t.Errorf("stats: exit %d\n%s%s", code, out, errs)
	}
}

// Text from the input (a CSV cell, as a forged static message would carry
// it) never reaches the terminal raw in the readable output; the JSON
// output escapes it and decodes to the exact text.
func TestAISDecodeTerminalSafe(t *testing.T) {
	name := "EVIL\x1b]0;pwned\x07\x1b[2J\u202eFED\u009b"
	call := "\x1b[31mRED"
	csv := "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n" +
		"366000001,2022-01-03T00:00:00,33.6,-117.9,0,280,511,\"" + name + "\",IMO9522972,\"" + call + "\",70,0,100,20,5,NA,A\n"
	p := filepath.Join(t.TempDir(), "hostile.csv")
	os.WriteFile(p, []byte(csv), 0o644)
	code, out, errs := tw(t, "ais", "decode", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !termtext.IsSafe(strings.ReplaceAll(out, "\n", "")) || strings.ContainsAny(out, "\x1b\r") {
		t.Errorf("raw control characters in the output: %q", out)
	}
	if !strings.Contains(out, `"EVIL\x1b]0;pwned\x07\x1b[2J\u202eFED\u009b" IMO9522972 callsign \x1b[31mRED`) {
		t.Errorf("output %q", out)
	}
	code, out, _ = tw(t, "ais", "decode", "--json", "--types", "5", p)
	var o struct{ Shipname, Callsign string }
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || o.Shipname != name || o.Callsign != call || !termtext.IsSafe(strings.TrimSpace(out)) {
		t.Errorf("JSON %d %q", code, out)
	}
}

// --idle-timeout reaches the feed: a connection that stays silent is
// dropped and redialled.
func TestAISDecodeIdleTimeoutFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	done := make(chan struct{})
	var code int
	var errs string
	go func() {
		defer close(done)
		// The feed is stopped by giving up: three silent connections.
		code, _, errs = tw(t, "ais", "decode", "--idle-timeout", "50ms", "--max-reconnects", "3", "tcp://"+ln.Addr().String())
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("feed not redialled")
	}
	if code != 1 || strings.Count(errs, "connection lost after") != 3 || !strings.Contains(errs, "3 connection attempts in a row") {
		t.Errorf("exit %d: %s", code, errs)
	}
	if len(accepted) != 3 {
		t.Errorf("%d connections", len(accepted))
	}
	for _, bad := range []string{"-1s", "soon"} {
		if code, _, errs := tw(t, "ais", "decode", "--idle-timeout", bad, "x"); code != 2 || !strings.Contains(errs, "idle-timeout") {
			t.Errorf("--idle-timeout %s: %d %s", bad, code, errs)
		}
	}
}
