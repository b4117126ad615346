package ais

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func decodeAll(t testing.TB, data []byte) ([]Message, *Decoder) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	var m Message
	for {
		err := r.Next(&m)
		if err == io.EOF {
			return out, r.Decoder
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

func TestFraming(t *testing.T) {
	tests := []struct {
		name, in string
		mmsi     uint32
		time     string
		source   string
	}{
		{"plain", "!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72", 366888040, "", ""},
		{"uscg trailing station and epoch", "!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72,b003669970,1272412824", 366888040, "2010-04-28T00:00:24Z", "b003669970"},
		{"exactEarth trailing ms", "!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72,1327992119173", 366888040, "2012-01-31T06:41:59.173Z", ""},
		{"tag block", `\s:rEV02,c:1334337317*58\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj` + "`" + `26B0<02,0*5F`, 0, "2012-04-13T17:15:17Z", "rEV02"},
		{"leading ns epoch", "1550303566167726840 !AIVDM,1,1,,B,10bb7q@P0lPGHlVMhbl0Qgw>2>`<,0*7F", 0, "2019-02-16T07:52:46.16772684Z", ""},
		{"PGHP then sentence", "$PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62*26\n!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*62", 0, "2013-11-12T12:00:00.011Z", ""},
		{"tag-block-only line before PGHP", "\\si:AISD*3F\\\n$PGHP,1,2013,11,12,12,0,0,11,219,,2190067,1,62*26\n\\si:AISD*3F\\\n!BSVDM,1,1,,A,13@:`L001N0ded0O6Fp8wW<00<0t,0*62", 0, "2013-11-12T12:00:00.011Z", ""},
	}
	for _, tt := range tests {
		msgs, d := decodeAll(t, []byte(tt.in+"\n"))
		if len(msgs) != 1 {
			t.Errorf("%s: %d messages, errors %v", tt.name, len(msgs), d.Stats.ErrorsByName())
			continue
		}
		m := msgs[0]
		if tt.mmsi != 0 && m.MMSI != tt.mmsi {
			t.Errorf("%s: mmsi %d", tt.name, m.MMSI)
		}
		got := ""
		if !m.Time.IsZero() {
			got = m.Time.Format(time.RFC3339Nano)
		}
		if got != tt.time || m.Source != tt.source {
			t.Errorf("%s: time %q source %q, want %q %q", tt.name, got, m.Source, tt.time, tt.source)
		}
	}
}

func TestMultiSentence(t *testing.T) {
	// A tag-block group spanning two sentences (exactEarth sample).
	in := `\g:1-2-3985,s:rEV02,c:1334337317*2D\!AIVDM,2,1,9,B,58KvN<42ACikUKW77F1H4hF0<PTp622222222216` + "`" + `0` + "`" + `cF5BF0RT13H0T,0*70
\g:2-2-3985*5A\!AIVDM,2,2,9,B,PFRC88888888880,2*29
`
	msgs, d := decodeAll(t, []byte(in))
	if len(msgs) != 1 || msgs[0].Type != 5 {
		t.Fatalf("%d messages, errors %v", len(msgs), d.Stats.ErrorsByName())
	}
	m := msgs[0]
	if m.Time.Unix() != 1334337317 || m.Source != "rEV02" || m.ShipName == "" {
		t.Errorf("type 5: %+v", m)
	}
	// Second fragment without a first, first without a second, out of order.
	orphans := "!AIVDM,2,2,9,B,PFRC88888888880,2*29\n" +
		"!AIVDM,2,1,3,A,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0*" + checksumOf("AIVDM,2,1,3,A,58KvN<42ACikUKW77F1H4hF0<PTp622222222216`0`cF5BF0RT13H0T,0") + "\n"
	_, d = decodeAll(t, []byte(orphans))
	if d.Stats.Errors[ReasonOrphan] != 2 || d.Pending() != 0 {
		t.Errorf("orphans %d pending %d", d.Stats.Errors[ReasonOrphan], d.Pending())
	}
}

// Memory for unfinished messages is bounded by MaxPending whatever the
// input: a stream of first fragments with fresh sequence ids and channels
// cannot grow it.
func TestPendingBounded(t *testing.T) {
	d := NewDecoder()
	d.MaxPending = 16
	var m Message
	for i := 0; i < 10000; i++ {
		body := "AIVDM,3,1," + string(rune('0'+i%10)) + "," + string(rune('A'+i%26)) + ",58KvN<42ACikUKW77F1H4hF0,0"
		var x byte
		for j := 0; j < len(body); j++ {
			x ^= body[j]
		}
		line := "!" + body + "*" + strings.ToUpper(hex2(x))
		d.Line([]byte(line), &m)
		if d.Pending() > 16 {
			t.Fatalf("pending %d", d.Pending())
		}
	}
	if d.Stats.Errors[ReasonOrphan] == 0 {
		t.Error("no orphans counted")
	}
}

func hex2(b byte) string {
	const h = "0123456789ABCDEF"
	return string([]byte{h[b>>4], h[b&15]})
}

func TestBadInputCounted(t *testing.T) {
	lines := []string{
		"!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*73", // checksum
		"!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0",    // no checksum
		"!AIVDM,1,1,,B,15Mq4J0P01ERE",                     // truncated
		"!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq*" + checksumOf("AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq"),     // too few fields
		"!AIVDM,1,1,,B,15Mq~J0P01EREODRv4@74gv00HRq,0*" + checksumOf("AIVDM,1,1,,B,15Mq~J0P01EREODRv4@74gv00HRq,0"), // bad armour
		"!AIVDM,1,1,,B,15Mq4J0P,0*" + checksumOf("AIVDM,1,1,,B,15Mq4J0P,0"),                                         // short payload
		"!AIVDM,0,1,,B,15Mq4J0P,0*" + checksumOf("AIVDM,0,1,,B,15Mq4J0P,0"),                                         // fragment count 0
		"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",                                         // not AIS
		"\x00\x01\x02garbage",
		"",
		"# a comment",
	}
	msgs, d := decodeAll(t, []byte(strings.Join(lines, "\n")+"\n"))
	if len(msgs) != 0 {
		t.Errorf("decoded %d from junk", len(msgs))
	}
	s := d.Stats
	if s.Errors[ReasonChecksum] != 1 || s.Errors[ReasonMalformed] != 5 || s.Errors[ReasonPayload] != 1 || s.Errors[ReasonShort] != 1 || s.Errors[ReasonNotAIS] != 1 {
		t.Errorf("errors %v", s.ErrorsByName())
	}
}

func checksumOf(s string) string {
	var x byte
	for i := 0; i < len(s); i++ {
		x ^= s[i]
	}
	return hex2(x)
}

// A gigabyte line, random bytes and a truncated gzip stream are counted or
// reported, never a crash or an unbounded allocation.
func TestHugeLineAndGarbage(t *testing.T) {
	good := "!AIVDM,1,1,,B,15Mq4J0P01EREODRv4@74gv00HRq,0*72\n"
	r := io.MultiReader(strings.NewReader(good), io.LimitReader(repeatByte('x'), 1<<30), strings.NewReader("\n"+good))
	rd, err := NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	n := 0
	for rd.Next(&m) == nil {
		n++
	}
	if n != 2 || rd.Decoder.Stats.Errors[ReasonTooLong] != 1 {
		t.Errorf("got %d messages, errors %v", n, rd.Decoder.Stats.ErrorsByName())
	}
	// Random bytes.
	junk := make([]byte, 1<<20)
	for i := range junk {
		junk[i] = byte(i*7919 + i>>3)
	}
	_, d := decodeAll(t, junk)
	if d.Stats.ErrorCount() == 0 {
		t.Error("random bytes produced no errors")
	}
	// A gzip stream cut short is an I/O error, reported.
	gz := readTestdataRaw(t, "libais_typeexamples_uscg.nmea.gz")
	rd, _ = NewReader(bytes.NewReader(gz[:len(gz)/2]))
	for {
		err = rd.Next(&m)
		if err != nil {
			break
		}
	}
	if err == io.EOF || err == nil {
		t.Errorf("truncated gzip: %v", err)
	}
}

type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func readTestdataRaw(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stat is one line of shared/data/ais/STATS.jsonl, made by an independent
// script when the data was collected.
type stat struct {
	File      string           `json:"file"`
	Messages  int              `json:"messages"`
	TSMsgs    int              `json:"ts_msgs"`
	Types     map[string]int   `json:"types"`
	MMSIs     int              `json:"distinct_mmsi"`
	TimeFirst *string          `json:"time_first"`
	TimeLast  *string          `json:"time_last"`
	Extra     map[string]any   `json:"-"`
	Sources   map[string]int64 `json:"ts_sources"`
}

// TestStatsMatchCollectionScript checks time spans and position-report
// counts against the counts recorded when the data was collected
// (testdata/STATS.jsonl), where the two programs count the same thing.
func TestStatsMatchCollectionScript(t *testing.T) {
	f, err := os.Open("testdata/STATS.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	checked := 0
	for sc.Scan() {
		var s stat
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		name := s.File
		if !strings.HasSuffix(name, ".gz") {
			name += ".gz"
		}
		if _, err := os.Stat(filepath.Join("testdata", name)); err != nil || strings.Contains(name, ".csv") {
			continue
		}
		msgs, d := decodeAll(t, readTestdata(t, name))
		_ = msgs
		if s.TimeFirst != nil {
			first := d.Stats.First.Format("2006-01-02T15:04:05Z")
			last := d.Stats.Last.Format("2006-01-02T15:04:05Z")
			// The script timed every sentence; Tidewatch times the messages
			// it decodes, so its span lies within the script's and shares
			// at least one end.
			if first < *s.TimeFirst || last > *s.TimeLast || (first != *s.TimeFirst && last != *s.TimeLast) {
				t.Errorf("%s: span %s..%s, script %s..%s", name, first, last, *s.TimeFirst, *s.TimeLast)
			}
		}
		// Class A position reports: the script counted first fragments by
		// type; single-sentence types must agree unless we rejected some
		// as short (counted).
		for _, typ := range []int{1, 3, 18} {
			want := s.Types[itoa(typ)]
			got := int(d.Stats.ByType[typ])
			if got > want || want-got > int(d.Stats.Errors[ReasonShort]+d.Stats.Errors[ReasonChecksum]) {
				t.Errorf("%s: type %d: %d, script %d (short %d)", name, typ, got, want, d.Stats.Errors[ReasonShort])
			}
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("checked %d files", checked)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

var _ = errors.New

// The framing (tag blocks, $PGHP lines, epoch fields) changes only the
// time and source of a message, never its content: every real file decodes
// to the same messages as its bare sentences do.
func TestFramedEqualsBare(t *testing.T) {
	for _, file := range nmeaFiles(t) {
		data := readTestdata(t, file)
		var bare bytes.Buffer
		for _, line := range bytes.Split(data, []byte("\n")) {
			if bytes.HasPrefix(line, []byte("#")) {
				continue
			}
			if s := sentenceRE.Find(line); s != nil {
				bare.Write(s)
				bare.WriteByte('\n')
			}
		}
		framed, _ := decodeAll(t, data)
		plain, _ := decodeAll(t, bare.Bytes())
		if len(framed) != len(plain) {
			t.Errorf("%s: %d messages framed, %d bare", file, len(framed), len(plain))
			continue
		}
		var a, b []byte
		for i := range framed {
			framed[i].Time, framed[i].Source = time.Time{}, ""
			a = AppendJSON(a[:0], &framed[i])
			b = AppendJSON(b[:0], &plain[i])
			if !bytes.Equal(a, b) {
				t.Errorf("%s message %d: %s vs %s", file, i, a, b)
				break
			}
		}
	}
}

func TestXorBytes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 200; n++ {
		b := make([]byte, n)
		rng.Read(b)
		var want byte
		for _, c := range b {
			want ^= c
		}
		if got := xorBytes(b); got != want {
			t.Fatalf("len %d: %02x, want %02x", n, got, want)
		}
	}
}

// A time past what AIS can carry (c:9999999999 is the year 2286, past
// the detectors' nanosecond clock, and used to be stored as 1702) is read
// as no time; so is one before AIS existed.
func TestImplausibleTimesAreNoTime(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{{"1772323216", true}, {"9999999999", false}, {"1772323216123", true}, {"99999999999999", false}, {"315532800", false}, {"631152000", true}} {
		tm, ok := epochTime([]byte(c.v))
		if ok != c.want {
			t.Errorf("%s: %v %v, want ok %v", c.v, tm, ok, c.want)
		}
	}
	if _, err := parseMarineCadastreTime("2300-01-01T00:00:00"); err != nil {
		t.Fatal(err)
	}
	if PlausibleTime(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)) || !PlausibleTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("PlausibleTime")
	}
}
