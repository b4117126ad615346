package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
