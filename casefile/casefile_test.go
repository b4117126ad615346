package casefile

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidewatch/tidewatch/ais"
)

var when = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// testBag is a sealed bag signed by two parties.
func testBag(t testing.TB) *Bag {
	t.Helper()
	payload := map[string][]byte{
		"data/ais/scenario.nmea": []byte(strings.Repeat("\\s:sim,c:1772323200*5A\\!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E\n", 40)),
		"data/events.jsonl":      []byte(`{"id":"5b0f584a575cf1d9","kind":"encounter"}` + "\n"),
		"data/profile.json":      []byte(`{"imo":8660313,"recommendation":"decline"}`),
		"data/report.html":       []byte("<!doctype html><title>r</title>"),
		"data/empty.txt":         {},
	}
	b, err := New(payload, []InfoField{{"Source-Organization", "Panel"}, {"Bagging-Date", "2026-03-05"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(Predicate{Vessel: PredicateVessel{IMO: 8660313, MMSIs: []uint32{445000101}}, From: when.Add(-72 * time.Hour), To: when, Complete: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.Sign(key(1), "Analyst One", "panel", when); err != nil {
		t.Fatal(err)
	}
	if err := b.Sign(key(2), "Underwriter Two", "insurer", when.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return b
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// The DSSE specification's example: PAE("http://example.com/HelloWorld",
// "hello world").
func TestPAE(t *testing.T) {
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if got != "DSSEv1 29 http://example.com/HelloWorld 11 hello world" {
		t.Errorf("PAE = %q", got)
	}
	if got := string(PAE("", nil)); got != "DSSEv1 0  0 " {
		t.Errorf("empty PAE = %q", got)
	}
}

func TestSignAndVerify(t *testing.T) {
	b := testBag(t)
	r := Verify(b, nil)
	if !r.Intact() || !r.OK() || len(r.Signatures) != 2 || r.Trusted || r.KeysGiven {
		t.Fatalf("verify: %+v", r)
	}
	if s := r.Signatures[1]; !s.Valid || s.Name != "Underwriter Two" || s.Organization != "insurer" || s.SignedAt != "2026-03-05T13:00:00Z" {
		t.Errorf("second signature: %+v", s)
	}
	if r := Verify(b, []ed25519.PublicKey{pub(key(2))}); !r.OK() || !r.Trusted || r.Signatures[0].Trusted || !r.Signatures[1].Trusted {
		t.Errorf("with a trusted key: %+v", r)
	}
	// An unrelated key given: intact, but not signed by anyone trusted.
	if r := Verify(b, []ed25519.PublicKey{pub(key(9))}); !r.Intact() || r.OK() || r.Trusted {
		t.Errorf("with an unrelated key: %+v", r)
	}
	// The statement names every file but the signature files.
	st, sum, err := b.Statement()
	if err != nil || len(sum) != 64 || st.Type != StatementType || len(st.Subject) != len(b.Paths())-2 {
		t.Fatalf("statement: %+v %v", st, err)
	}
	// A key signs once; a changed package is not signed.
	if err := b.Sign(key(1), "again", "panel", when); err == nil {
		t.Error("a key signed twice")
	}
	c := b.Clone()
	c.Put("data/profile.json", []byte(`{"recommendation":"accept"}`))
	if err := c.Sign(key(3), "Third", "x", when); err == nil {
		t.Error("a changed package was signed")
	}
	if err := b.Seal(Predicate{}); err == nil {
		t.Error("sealed twice")
	}
}

// Tampering anywhere is caught and the report names the file: a byte
// flipped at every position of every tag and signature file, and at
// spread positions of the payload; each file removed; files added.
func TestTamperEveryFile(t *testing.T) {
	b := testBag(t)
	trustedSets := [][]ed25519.PublicKey{nil, {pub(key(1))}}
	for _, p := range b.Paths() {
		data, _ := b.File(p)
		var positions []int
		if len(data) <= 4096 {
			for i := range data {
				positions = append(positions, i)
			}
		} else {
			for i := 0; i < 64; i++ {
				positions = append(positions, i*(len(data)-1)/63)
			}
		}
		for _, trusted := range trustedSets {
			for _, i := range positions {
				c := b.Clone()
				d := append([]byte(nil), data...)
				d[i] ^= 0x01
				c.Put(p, d)
				r := Verify(c, trusted)
				if r.Intact() {
					t.Fatalf("%s: byte %d flipped (trusted %d): verified", p, i, len(trusted))
				}
				if !names(r, p) {
					t.Fatalf("%s: byte %d flipped: the problems do not name the file: %v", p, i, r.Problems)
				}
			}
		}
		// Removed.
		c := b.Clone()
		c.Remove(p)
		if r := Verify(c, nil); r.Intact() {
			t.Errorf("%s removed: verified", p)
		}
		// Truncated and emptied.
		if len(data) > 0 {
			c = b.Clone()
			c.Put(p, data[:len(data)-1])
			if r := Verify(c, nil); r.Intact() || !names(r, p) {
				t.Errorf("%s truncated: %v", p, r.Problems)
			}
		}
	}
	for _, added := range []string{"data/extra.txt", "extra.txt", "data/ais/more.nmea"} {
		c := b.Clone()
		c.Put(added, []byte("x"))
		if r := Verify(c, nil); r.Intact() || !names(r, added) {
			t.Errorf("%s added: %v", added, r.Problems)
		}
	}
	// A signature removed from the envelope (the file rewritten in its
	// canonical form): its signer's claim has no signature.
	c := b.Clone()
	env, _ := readEnvelope(mustFile(b, EnvelopeFile))
	env.Signatures = env.Signatures[:1]
	c.Put(EnvelopeFile, canonical(env))
	if r := Verify(c, nil); r.Intact() || !names(r, SignersFile) {
		t.Errorf("a signature removed: %v", r.Problems)
	}
	// Every signature removed.
	env.Signatures = []Signature{}
	c.Put(EnvelopeFile, canonical(env))
	c.Put(SignersFile, canonical([]Signer{}))
	if r := Verify(c, nil); r.Intact() || !names(r, EnvelopeFile) {
		t.Errorf("unsigned: %v", r.Problems)
	}
	// The statement replaced by one naming the changed file, with the old
	// signatures: they no longer verify.
	c = b.Clone()
	c.Put("data/profile.json", []byte(`{"recommendation":"accept"}`))
	c.Remove(EnvelopeFile)
	c.Remove(SignersFile)
	c.files[ManifestFile] = manifest(c, func(p string) bool { return strings.HasPrefix(p, "data/") })
	c.files[TagManifestFile] = manifest(c, func(p string) bool { return p == BagItFile || p == BagInfoFile || p == ManifestFile })
	if err := c.Seal(Predicate{}); err != nil {
		t.Fatal(err)
	}
	newEnv, _ := readEnvelope(mustFile(c, EnvelopeFile))
	newEnv.Signatures = env0(b).Signatures
	c.Put(EnvelopeFile, canonical(newEnv))
	c.Put(SignersFile, mustFile(b, SignersFile))
	if r := Verify(c, nil); r.Intact() || !names(r, EnvelopeFile) {
		t.Errorf("a new statement under old signatures: %v", r.Problems)
	}
}

func env0(b *Bag) Envelope {
	e, _ := readEnvelope(mustFile(b, EnvelopeFile))
	return e
}

func mustFile(b *Bag, p string) []byte {
	d, _ := b.File(p)
	return d
}

func names(r Report, file string) bool {
	for _, p := range r.Problems {
		if p.File == file {
			return true
		}
	}
	return false
}

func TestZipAndDir(t *testing.T) {
	b := testBag(t)
	var zbuf bytes.Buffer
	if err := b.WriteZip(&zbuf, "case-8660313", when); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	b.WriteZip(&again, "case-8660313", when)
	if !bytes.Equal(zbuf.Bytes(), again.Bytes()) {
		t.Error("the same bag zips to other bytes")
	}
	z, err := ReadZip(zbuf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r := Verify(z, []ed25519.PublicKey{pub(key(1))}); !r.OK() || strings.Join(z.Paths(), " ") != strings.Join(b.Paths(), " ") {
		t.Fatalf("zip round trip: %+v", r)
	}
	dir := filepath.Join(t.TempDir(), "case")
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteDir(dir); err == nil {
		t.Error("wrote over a package")
	}
	d, err := ReadFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := Verify(d, nil); !r.OK() || len(d.Paths()) != len(b.Paths()) {
		t.Fatalf("dir round trip: %+v", r)
	}
	// Standard tools check the manifests as they are.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		for _, m := range []string{ManifestFile, TagManifestFile} {
			cmd := exec.Command("sha256sum", "--quiet", "-c", m)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("sha256sum -c %s: %v %s", m, err, out)
			}
		}
	}
	// A byte flipped in an entry's compressed data is reported with the
	// entry's name.
	zr, _ := zip.NewReader(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil || f.CompressedSize64 == 0 {
			continue
		}
		for _, at := range []int64{0, int64(f.CompressedSize64) / 2, int64(f.CompressedSize64) - 1} {
			z := append([]byte(nil), zbuf.Bytes()...)
			z[off+at] ^= 0x01
			_, err := ReadZip(z)
			var ee *EntryError
			if !errors.As(err, &ee) || "case-8660313/"+ee.Name != f.Name {
				t.Errorf("%s byte %d flipped: %v", f.Name, at, err)
			}
		}
	}
	if _, err := ReadZip([]byte("PK\x03\x04 not a zip")); err == nil {
		t.Error("garbage read as a zip")
	}
}

func TestReadRefusesUnsafe(t *testing.T) {
	for _, name := range []string{"../evil", "/etc/passwd", "data/../../x", `data\x`, "data//x", "./x"} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create(name)
		w.Write([]byte("x"))
		zw.Close()
		if _, err := ReadZip(buf.Bytes()); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bagit.txt"), []byte(bagitText), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	if _, err := ReadDir(dir); err == nil {
		t.Error("a symbolic link was read")
	}
	if _, err := New(map[string][]byte{"notdata/x": nil}, nil); err == nil {
		t.Error("a payload outside data/")
	}
}

// The excerpt keeps a vessel's lines as received: both sentences of its
// static report (interleaved with another ship's), their tag blocks, the
// $PGHP line stamping a sentence, nothing of the other ship's or from
// outside the period.
func TestExcerpt(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	static := func(mmsi uint32, name string, at time.Time, seq int) []string {
		m := ais.Message{Type: 5, MMSI: mmsi, IMO: 8660313, ShipName: name, CallSign: "HMZA", ShipType: 80, ToBow: 90, ToStern: 20}
		pl, fill := ais.EncodeStatic(&m)
		return ais.Sentences(pl, fill, at.Unix(), "sim", seq, seq, 'A')
	}
	pos := func(mmsi uint32, at time.Time) string {
		m := ais.Message{Type: 1, MMSI: mmsi, Heading: 511, Course: 3600, SpeedRaw: 10, Second: 60}
		m.LatRaw, m.LonRaw = ais.RawLatLon(38.2, 124.0)
		pl, fill := ais.EncodePosition(&m)
		return ais.Sentences(pl, fill, at.Unix(), "sim", 0, 0, 'A')[0]
	}
	a := static(445000101, "SIM PAEK SONG", t0.Add(time.Hour), 1)
	o := static(667000202, "SIM OCEAN STAR", t0.Add(time.Hour), 2)
	if len(a) != 2 || len(o) != 2 {
		t.Fatalf("static reports of %d and %d sentences", len(a), len(o))
	}
	pghpPos := func(mmsi uint32) string {
		m := ais.Message{Type: 1, MMSI: mmsi, Heading: 511, Course: 3600, Second: 60}
		m.LatRaw, m.LonRaw = ais.RawLatLon(38.3, 124.1)
		pl, fill := ais.EncodePosition(&m)
		body := fmt.Sprintf("AIVDM,1,1,,B,%s,%d", pl, fill)
		return fmt.Sprintf("!%s*%s", body, checksum(body))
	}
	pghpBody := "PGHP,1,2026,3,1,2,30,0,0,316,2,316000002,1AIS_S,0F"
	pghp := "$" + pghpBody + "*" + checksum(pghpBody) // stamps the next sentence
	in := strings.Join([]string{
		pos(445000101, t0.Add(-48*time.Hour)), // before the period
		a[0], o[0], a[1], o[1],                // interleaved static reports
		pos(667000202, t0.Add(2*time.Hour)),
		pos(445000101, t0.Add(2*time.Hour)),
		"garbage line",
		pghp, pghpPos(445000101),
		pos(445000101, t0.Add(100*time.Hour)),             // after
		"!AIVDM,1,1,,A,15MgK45P3@G?fl0E`JbR0OwT0@MS,0*4E", // no time
	}, "\r\n") + "\r\n"
	keep := func(m uint32, at time.Time) bool {
		return m == 445000101 && !at.Before(t0) && at.Before(t0.Add(72*time.Hour))
	}
	var out bytes.Buffer
	st, err := Excerpt(strings.NewReader(in), keep, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{a[0], a[1], pos(445000101, t0.Add(2*time.Hour)), pghp, pghpPos(445000101)}, "\r\n") + "\r\n"
	got := out.String()
	if got != want {
		t.Errorf("excerpt:\n%q\nwant\n%q", got, want)
	}
	if st.Kept != 3 || st.KeptLines != 5 || st.Untimed != 1 || st.Messages != 8 || st.Lines != 12 {
		t.Errorf("stats: %+v", st)
	}
	// Decoding the excerpt gives the kept messages.
	r, _ := ais.NewReader(strings.NewReader(got))
	var m ais.Message
	n := 0
	for r.Next(&m) == nil {
		if m.MMSI != 445000101 {
			t.Errorf("the excerpt decodes to MMSI %d", m.MMSI)
		}
		n++
	}
	if int64(n) != st.Kept {
		t.Errorf("%d messages decoded from the excerpt, %d kept", n, st.Kept)
	}
}

func checksum(body string) string {
	var x byte
	for i := 0; i < len(body); i++ {
		x ^= body[i]
	}
	return fmt.Sprintf("%02X", x)
}

// A CSV export's rows of the ships and period kept, byte for byte with
// the header (CRLF ends, a quoted name over two lines, a last row with no
// newline), and read back the messages they gave in the whole file.
func TestExcerptCSV(t *testing.T) {
	in := "\ufeff\"MMSI\",\"BaseDateTime\",\"LAT\",\"LON\",\"SOG\",\"COG\",\"Heading\",\"VesselName\",\"IMO\",\"CallSign\",\"VesselType\",\"Status\",\"Length\",\"Width\",\"Draft\",\"Cargo\",\"TransceiverClass\"\r\n" +
		"445000101,\"2026-02-27T00:00:00\",38.2,124.0,0,280,511,\"EARLY\",\"IMO8660313\",\"HMZA\",80,0,110,18,6.1,80,\"A\"\r\n" + // before the period
		"445000101,\"2026-03-01T01:00:00\",38.2,124.0,0.2,280,511,\"PAEK\nSONG\",\"IMO8660313\",\"HMZA\",80,0,110,18,6.1,80,\"A\"\r\n" +
		"667000202,\"2026-03-01T01:00:00\",38.3,124.1,0,280,511,\"OTHER\",\"\",\"\",70,0,90,15,5,70,\"A\"\r\n" +
		"445000101,\"not a time\",38.2,124.0,0,280,511,\"PAEK SONG\",\"IMO8660313\",\"HMZA\",80,0,110,18,6.1,80,\"A\"\r\n" +
		"445000101,\"2026-03-01T02:00:00\",38.25,124.05,3.1,280,511,\"PAEK SONG\",\"IMO8660313\",\"HMZA\",80,0,110,18,6.1,80,\"A\""
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	keep := func(m uint32, at time.Time) bool { return m == 445000101 && !at.Before(t0) }
	var out bytes.Buffer
	st, err := ExcerptCSV([]byte(in), keep, &out)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.SplitAfter(in, "\r\n")
	want := rows[0] + rows[2] + rows[5] + "\n"
	if out.String() != want {
		t.Fatalf("excerpt:\n%q\nwant\n%q", out.String(), want)
	}
	if st.Lines != 6 || st.KeptLines != 3 || st.Kept != 4 {
		t.Errorf("stats %+v", st)
	}
	// The excerpt reads as the whole file's kept rows did.
	read := func(text string) []ais.Message {
		src, err := ais.NewSource(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		var got []ais.Message
		for {
			var m ais.Message
			if err := src.Next(&m); err != nil {
				break
			}
			if keep(m.MMSI, m.Time) {
				got = append(got, m)
			}
		}
		return got
	}
	whole, part := read(in), read(out.String())
	if len(whole) != 4 || fmt.Sprint(whole) != fmt.Sprint(part) {
		t.Errorf("the excerpt's messages differ:\n%v\n%v", whole, part)
	}
	// No row kept: nothing written.
	out.Reset()
	if _, err := ExcerptCSV([]byte(in), func(uint32, time.Time) bool { return false }, &out); err != nil || out.Len() != 0 {
		t.Errorf("nothing kept: %q %v", out.String(), err)
	}
	if _, err := ExcerptCSV([]byte("a,b\n1,2\n"), keep, &out); err == nil {
		t.Error("a CSV of other columns cut without an error")
	}
}
