package casefile

import (
	"bytes"
	"crypto/ed25519"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func zipOf(t testing.TB, b *Bag) []byte {
	var buf bytes.Buffer
	if err := b.WriteZip(&buf, "case", when); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadZip: any bytes read as a package give a bag or an error, never
// a crash or an unbounded read; a bag read verifies without a crash.
func FuzzReadZip(f *testing.F) {
	good := zipOf(f, testBag(f))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte{})
	f.Add(bombZip(f, 2, -1))
	f.Add(bombZip(f, 2, 1000))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Read for verifying, within small limits: never past them, and
		// the same report as the whole bag's when both read.
		lim := Limits{FileBytes: 1 << 20, BagBytes: 4 << 20, Ratio: 50, RatioFloor: 1 << 20}
		d, derr := ReadZipWith(data, ReadOptions{Limits: lim, DigestPayload: true})
		if derr == nil && d.Size() > max(int64(50*len(data)), 1<<20) {
			t.Fatalf("read %d bytes from a %d-byte archive", d.Size(), len(data))
		}
		b, err := ReadZip(data)
		if err != nil {
			if derr == nil {
				t.Fatalf("read for verifying, not whole: %v", err)
			}
			return
		}
		r := Verify(b, []ed25519.PublicKey{pub(key(1))})
		if r.Files != len(b.Paths()) {
			t.Fatalf("report counts %d files, the bag holds %d", r.Files, len(b.Paths()))
		}
		if derr == nil {
			if rd := Verify(d, []ed25519.PublicKey{pub(key(1))}); !reflect.DeepEqual(r, rd) {
				t.Fatalf("whole %+v\ndigested %+v", r, rd)
			}
		}
	})
}

// FuzzVerifyFile: a package whose one file is replaced by any bytes never
// crashes Verify, and verifies only when the bytes are the original ones.
func FuzzVerifyFile(f *testing.F) {
	b := testBag(f)
	paths := b.Paths()
	for i, p := range paths {
		d, _ := b.File(p)
		f.Add(uint8(i), d)
		f.Add(uint8(i), append(append([]byte(nil), d...), '\n'))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		p := paths[int(which)%len(paths)]
		c := b.Clone()
		c.Put(p, data)
		orig, _ := b.File(p)
		r := Verify(c, nil)
		if r.Intact() != bytes.Equal(orig, data) {
			t.Fatalf("%s replaced by %q: intact %v", p, data, r.Intact())
		}
	})
}

// FuzzManifest: manifest and bag-info parsing never crash.
func FuzzManifest(f *testing.F) {
	b := testBag(f)
	m, _ := b.File(ManifestFile)
	info, _ := b.File(BagInfoFile)
	f.Add(m)
	f.Add(info)
	f.Add([]byte("0000  data/%0Ax\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _ := parseManifest(data)
		for _, e := range entries {
			if checkPath(e.path) != nil {
				t.Fatalf("an unsafe path %q was accepted", e.path)
			}
		}
		parseInfo(data)
	})
}

// FuzzExcerpt: any text gives an excerpt whose lines are lines of the
// input, in order.
func FuzzExcerpt(f *testing.F) {
	f.Add([]byte("\\g:1-2-7,s:sim,c:1772326800*00\\!AIVDM,2,1,7,A,5,0*00\n\\g:2-2-7*00\\!AIVDM,2,2,7,A,0,2*00\n"))
	f.Add([]byte("!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E,1327992119173\n$PGHP,1,2012,1,27,9,58,26,36,316,2,316000002,1AIS_S,0F*32\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		st, err := Excerpt(bytes.NewReader(data), func(uint32, time.Time) bool { return true }, &out)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if st.KeptLines > st.Lines || st.Kept > st.Messages {
			t.Fatalf("stats: %+v", st)
		}
		in := string(data)
		for _, l := range strings.SplitAfter(out.String(), "\n") {
			if l != "" && !strings.Contains(in, strings.TrimSuffix(l, "\n")) {
				t.Fatalf("an excerpt line not in the input: %q", l)
			}
		}
	})
}

// FuzzExcerptCSV: whatever the CSV, an excerpt keeping every row is the
// header and rows cut from the input in order: the input itself, less the
// rows that gave no message (each written byte is the input's, in order).
func FuzzExcerptCSV(f *testing.F) {
	f.Add([]byte("MMSI,BaseDateTime,LAT,LON\n445000101,2026-03-01T01:00:00,38.2,124.0\n"))
	f.Add([]byte("\"MMSI\",\"BaseDateTime\",\"LAT\",\"LON\",\"VesselName\"\r\n1,\"2026-03-01T01:00:00\",1,2,\"A\nB\"\r\n2,x,\"3\n"))
	f.Add([]byte("# Timestamp,Type of mobile,MMSI,Latitude,Longitude\n01/03/2026 01:00:00,Class A,445000101,38.2,124.0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		st, err := ExcerptCSV(data, func(uint32, time.Time) bool { return true }, &out)
		if err != nil {
			return // not a CSV export Tidewatch reads: nothing cut
		}
		if st.KeptLines > st.Lines || st.Kept > st.Messages {
			t.Fatalf("stats: %+v", st)
		}
		// Each written byte is the input's, in order (a subsequence),
		// but for the newline added after a last row that had none.
		got := out.Bytes()
		j := 0
		for i := 0; i < len(data) && j < len(got); i++ {
			if data[i] == got[j] {
				j++
			}
		}
		if j < len(got) && !(j == len(got)-1 && got[j] == '\n') {
			t.Fatalf("the excerpt is not cut from the input at byte %d: %q from %q", j, got, data)
		}
	})
}
